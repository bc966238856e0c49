// Masks the variable parts of a log message (numbers, ids, addresses, sizes with units, embedded dates) so that
// messages of one kind share one token sequence. Pure and cheap: it runs at ingest for warnings and errors.

export const wildcard = '<*>';

/** Splits a message into tokens on whitespace. */
export function tokenize(message: string): string[] {
  return message.split(/\s+/).filter((token) => token !== '');
}

const surrounding = /^[()[\]{}<>,;:'"`]+|[()[\]{}<>,;:'"`.]+$/g;
const hexOnly = /^(0x)?[0-9a-f]{6,}$/i;
const dateWords = /^(mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)$/i;

/**
 * A token is a variable when, stripped of surrounding punctuation, it starts with a digit (counts, sizes,
 * addresses, times), has a part that is all digits between separators (ids like rdd_2_1, blk_-123,
 * ip-10-0-0-1), carries a run of two or more digits, is a long hex string, or names a weekday or month (a date
 * written inside the message). A digit that is part of a word (SOCKS5, utf8, ee0) is part of the word.
 */
export function isVariable(token: string): boolean {
  if (token.includes(wildcard)) return true;
  const core = token.replace(surrounding, '');
  if (core === '') return false;
  return (
    /^[-+]?\d/.test(core) ||
    /\d{2,}/.test(core) ||
    /(^|[_\-./:@=#])\d+($|[_\-./:@=#])/.test(core) ||
    hexOnly.test(core) ||
    dateWords.test(core)
  );
}

// A key without dots: `user=42`, `uid=0`, `size:512` keep their key; `host.example.com:443` is one variable.
const keyValue = /^([A-Za-z_][A-Za-z0-9_-]*[:=])(.+)$/;

export function maskToken(token: string): string {
  if (token === '()' || token === '[]' || token === '{}') return wildcard; // an empty value is still a value
  const pair = keyValue.exec(token);
  if (pair?.[1] !== undefined && pair[2] !== undefined) {
    return isVariable(pair[2]) ? `${pair[1]}${wildcard}` : token;
  }
  return isVariable(token) ? wildcard : token;
}

/** Units that belong to the number before them: `5 ms`, `1.13 KB`, `3 bytes` are one value. */
const units = new Set([
  'ms',
  's',
  'sec',
  'secs',
  'second',
  'seconds',
  'min',
  'mins',
  'minute',
  'minutes',
  'h',
  'hr',
  'hrs',
  'hour',
  'hours',
  'day',
  'days',
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'kib',
  'mib',
  'gib',
  'byte',
  'bytes',
  '%',
]);

/** A parenthesised or bracketed span that holds a digit is one value: `(1.13 KB)`, `[pid 42]`. */
const groupedValue = /[([][^()[\]]*\d[^()[\]]*[)\]]/g;

/**
 * The message as masked tokens: variable tokens become `<*>`, a unit after a number joins it, grouped values
 * become one `<*>`, and a run of variables collapses into one (a value of varying length is still one value).
 */
export function maskedTokens(message: string): string[] {
  const tokens = tokenize(message.replace(groupedValue, ` ${wildcard} `));
  const result: string[] = [];
  for (const token of tokens) {
    const masked = maskToken(token);
    const previous = result.at(-1);
    if (masked === wildcard && previous === wildcard) continue;
    if (previous === wildcard && units.has(token.replace(surrounding, '').toLowerCase())) continue;
    result.push(masked);
  }
  return result;
}

/** The masked message as one string (the key errors are grouped by at ingest). */
export function maskVariables(message: string): string {
  return maskedTokens(message).join(' ');
}
