// Log header formats such as `<Date> <Time> <Level> <Component>: <Content>` (the convention of the Loghub
// benchmark). The grammar:
//   <Name>        a field (`<Content>` is required: the message)
//   ( … )?        an optional part, e.g. `<Component>([<PID>])?:` for `sshd[42]:` as well as `kernel:`
//   \x            the character x itself (`\[<PID>\]`, `\(`): formats written as regular expressions work too
//   a space       any run of whitespace
//   anything else itself
// Pure.
import { guessContent } from './header.js';

export interface LogFormat {
  readonly fields: readonly string[];
  readonly pattern: RegExp;
}

export function parseLogFormat(format: string): LogFormat {
  const fields: string[] = [];
  // Pieces of the regular expression; '(' pieces are patched once their closing is known.
  const pieces: string[] = [];
  const opens: number[] = [];
  for (let index = 0; index < format.length; index += 1) {
    const char = format.charAt(index);
    if (char === '\\' && index + 1 < format.length) {
      index += 1;
      pieces.push(literal(format.charAt(index)));
    } else if (char === '<') {
      const close = format.indexOf('>', index);
      const name = close < 0 ? '' : format.slice(index + 1, close);
      if (close < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        pieces.push(literal(char));
        continue;
      }
      // Named groups keep the fields apart however many groups the rest of the format has.
      pieces.push(`(?<f${fields.length}>${name === 'Content' ? '.*' : '.*?'})`);
      fields.push(name);
      index = close;
    } else if (char === '(') {
      opens.push(pieces.length);
      pieces.push(literal('('));
    } else if (char === ')') {
      const open = opens.pop();
      if (open !== undefined && format.charAt(index + 1) === '?') {
        pieces[open] = '(?:';
        pieces.push(')?');
        index += 1;
      } else pieces.push(literal(')')); // a pair of literal parentheses, or a stray one
    } else if (/\s/.test(char)) {
      while (/\s/.test(format.charAt(index + 1))) index += 1;
      pieces.push('\\s+');
    } else pieces.push(literal(char));
  }
  if (!fields.includes('Content')) throw new Error(`the format has no <Content> field: ${format}`);
  return { fields, pattern: new RegExp(`^${pieces.join('')}$`) };
}

function literal(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The content of a line; without a format, the line after its guessed header (times, levels, pids, component);
 * the whole line when it does not fit the format.
 */
export function contentOf(line: string, format: LogFormat | undefined): string {
  const trimmed = line.trim(); // trailing spaces and carriage returns would otherwise end up in the fields
  if (format === undefined) return guessContent(trimmed);
  const match = format.pattern.exec(trimmed);
  if (match === null) return trimmed;
  return match.groups?.[`f${format.fields.indexOf('Content')}`] ?? trimmed;
}
