import { describe, expect, it } from 'vitest';
import { csvRow, parseCsvLine } from './csv.js';

describe('csv', () => {
  it('splits plain and quoted fields', () => {
    expect(parseCsvLine('a,b,,c')).toEqual(['a', 'b', '', 'c']);
    expect(parseCsvLine('1,"say ""hi"", then go",x')).toEqual(['1', 'say "hi", then go', 'x']);
  });

  it('refuses an unclosed quote', () => {
    expect(() => parseCsvLine('1,"open')).toThrow(/not closed/);
  });

  it('round-trips fields that need quoting', () => {
    const values = ['plain', 'with,comma', 'with "quote"', ' padded ', 'E<*> 42'];
    expect(parseCsvLine(csvRow(values))).toEqual(values);
    expect(csvRow(['a', 1, 'b c'])).toBe('a,1,b c');
  });
});
