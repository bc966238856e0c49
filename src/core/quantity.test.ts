import { describe, expect, it } from 'vitest';
import { formatBytes, parseCpu, parseMemory } from './quantity.js';

describe('quantities', () => {
  it('parses memory with binary and SI suffixes', () => {
    expect(parseMemory('64Mi')).toBe(64 * 2 ** 20);
    expect(parseMemory('1Gi')).toBe(2 ** 30);
    expect(parseMemory('500M')).toBe(500_000_000);
    expect(parseMemory('1.5Ki')).toBe(1536);
    expect(parseMemory('1024')).toBe(1024);
    expect(parseMemory('64MB')).toBeUndefined();
    expect(parseMemory('-1Mi')).toBeUndefined();
  });

  it('parses cpu as millicores', () => {
    expect(parseCpu('100m')).toBe(100);
    expect(parseCpu('0.5')).toBe(500);
    expect(parseCpu('2')).toBe(2000);
    expect(parseCpu('1 core')).toBeUndefined();
  });

  it('formats bytes for people', () => {
    expect(formatBytes(512)).toBe('512B');
    expect(formatBytes(64 * 2 ** 20)).toBe('64.0MiB');
    expect(formatBytes(200 * 2 ** 20)).toBe('200MiB');
  });
});
