// Masks the variable parts of a log message (numbers, ids, addresses, paths, URLs, sizes with units, dates,
// structured and quoted values) so that messages of one kind share one token sequence. Pure and cheap: it runs at
// ingest for warnings and errors. Idempotent: masking a masked message changes nothing.

export const wildcard = '<*>';

/** Splits a message into tokens on whitespace. */
export function tokenize(message: string): string[] {
  const trimmed = message.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

const surrounding = /^[()[\]{}<>,;:'"`]+|[()[\]{}<>,;:'"`.!?]+$/g;
// Hex needs a digit, a 0x or eight letters: `deadbeef42` and `ffffffff` are ids, `facade` is a word.
const hexOnly = /^(0x[0-9a-f]+|(?=[a-f]*\d)[0-9a-f]{6,}|[0-9a-f]{8,})$/i;
const mac = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;
const dateWords = /^(mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)$/i;
// Literal values of a program: `setLightsOn(true)`, `ws=null`.
const literals = /^(true|false|null|nil|none|undefined|nan)$/i;
const url = /^[a-z][a-z0-9+.-]*:\/\//i;
// Unix (`/var/log`, `~/x`, `./x`) and Windows (`C:\x`, `\\host\share`) paths, and relative ones with two slashes.
const path = /^(~|\.{1,2})?\/[^/\s]|^[a-z]:\\|\\\\|^[^/\s]+\/[^/\s]+\/[^/\s]*/i;
const email = /^[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/i;
// Host names: lower-case dotted labels ending in a common top-level domain, or in a country code after two dots
// (`proxy.cse.cuhk.edu.hk`); Java packages (`org.apache.hadoop.mapred`) end in neither.
const hostName =
  /^([a-z0-9-]+\.)+(com|net|org|edu|gov|mil|io|local|localdomain|internal|lan|arpa)$|^[a-z0-9-]+(\.[a-z0-9-]+){1,}\.[a-z]{2}$/;
// File names with a common extension: a program or file a message talks about, not a word of the message.
const fileName =
  /^[\w@+~-][\w@+~.-]*\.(exe|dll|sys|so|dylib|jar|war|class|py|js|ts|rb|go|sh|bat|ps1|log|txt|csv|json|xml|ya?ml|conf|cfg|ini|properties|tmp|bak|gz|zip|tar|tgz|pdf|png|jpe?g|gif|html?|php|sql|db|sock|pid|lock)$/i;

/**
 * A token is a variable when, stripped of surrounding punctuation, it starts with a digit (counts, sizes,
 * durations, addresses, times), has a part that is all digits between separators (ids like rdd_2_1, blk_-123,
 * ip-10-0-0-1, host:port), carries a run of two or more digits, is a hex id, a URL, a path, an e-mail address, a
 * host or file name, or names a weekday or month (a date written inside the message). A digit that is part of a
 * word (SOCKS5, utf8, wl0) is part of the word.
 */
export function isVariable(token: string): boolean {
  if (token.includes(wildcard)) return true;
  const digit = /\d/.test(token);
  // Most tokens are plain words: only a date word or a literal can make them variables.
  if (!digit && !/[/\\@.:-]/.test(token)) {
    const word = token.replace(surrounding, '');
    return wordValue.test(word) || (word.length >= 8 && hexOnly.test(word));
  }
  if (url.test(token) || path.test(token)) return true;
  const core = token.replace(surrounding, '');
  if (core === '') return false;
  if (digit && (digitValue.test(core) || hexOnly.test(core) || dashedHex.test(core) || randomPart.test(core)))
    return true;
  return (
    wordValue.test(core) ||
    hexOnly.test(core) ||
    mac.test(core) ||
    email.test(core) ||
    hostName.test(core) ||
    fileName.test(core)
  );
}

// Starts with a digit, holds two digits in a row, a digit part between separators, or a 0x literal.
const digitValue = /^[-+]?\.?\d|\d\d|(^|[_\-./:@=#])\d+($|[_\-./:@=#])|0x[0-9a-f]{2,}/i;
// `b3fa6da0-f4e7` (a cut uuid) and `echo-2e9f6` (a generated suffix): hex groups, or a part of five or more
// letters and digits with two digits or more, reads as an id, not a word (`SOCKS5`, `eth0`, `wl0` stay words).
const dashedHex = /^(?=.*\d)(?=.{8})[0-9a-f]+(-[0-9a-f]+)+$/i;
const randomPart = /(^|[-_.:])(?=[a-z0-9]*[a-z])(?=[a-z]*\d[a-z]*\d)[a-z0-9]{5,}($|[-_.:])/i;
const wordValue = new RegExp(`${dateWords.source}|${literals.source}`, 'i');

// A key without dots: `user=42`, `uid=0`, `size:512` keep their key; `host.example.com:443` is one variable.
const keyValue = /^([A-Za-z_][A-Za-z0-9_-]*[:=])(.+)$/;
// Words after which a name follows: `user alice`, `invalid user bob`, `for user carol`.
const nameIntroducers = new Set(['user', 'username']);
// …unless a function word follows: `Invalid user  from 1.2.3.4` has an empty name.
const functionWords = new Set([
  'for',
  'from',
  'by',
  'with',
  'at',
  'of',
  'on',
  'in',
  'to',
  'is',
  'was',
  'and',
  'or',
  'not',
]);

/** The masked form of one token; `previous` is the token before it, unmasked (`user` introduces a name). */
export function maskToken(token: string, previous = ''): string {
  if (
    previous.length >= 4 &&
    previous.length <= 8 &&
    nameIntroducers.has(previous.toLowerCase()) &&
    !functionWords.has(token.toLowerCase()) &&
    /^[\w.@$-]+$/.test(token.replace(surrounding, ''))
  ) {
    return wildcard;
  }
  let masked = cache.get(token);
  if (masked === undefined) {
    masked = maskOne(token);
    if (cache.size >= cacheSize) cache.clear(); // a bound, not an eviction policy: tokens recur within a log
    cache.set(token, masked);
  }
  return masked;
}

// Log tokens recur a lot (the words of every template), so their masks are remembered.
const cacheSize = 50_000;
const cache = new Map<string, string>();

function maskOne(token: string): string {
  if (mac.test(token.replace(surrounding, ''))) return wildcard; // before `aa:` reads as a key
  if (token === '()' || token === '[]' || token === '{}') return wildcard; // an empty value is still a value
  if (url.test(token) || path.test(token)) return wildcard;
  const pair = keyValue.exec(token);
  // `fe80:0:0:1` is an address, not a key `fe80` (a key with a digit that reads as hex is no key).
  if (pair?.[1] !== undefined && pair[2] !== undefined && !/^(?=[a-f]*\d)[0-9a-f]+[:=]$/i.test(pair[1])) {
    return isVariable(pair[2]) ? `${pair[1]}${wildcard}` : token;
  }
  return isVariable(token) ? wildcard : token;
}

/** Units that belong to the number before them: `5 ms`, `1.13 KB`, `3 bytes` are one value. */
const units = new Set([
  'ms',
  'us',
  'ns',
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

const textKeys = /(^|[\s,{])"?(msg|message|event|summary|description|text|reason|err|error)"?[=:]\s?$/i;
const opening: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const closing = new Set([')', ']', '}']);

/**
 * Replaces structured values by one `<*>`, whatever their number of tokens: a `{…}` span (an object dump), a
 * `(…)` or `[…]` span that holds a digit (`(1.13 KB)`, `[pid 42]`), and a quoted string (`"node-b"`,
 * `tag="View Lock"`, a user agent). A quoted record that starts with an upper-case keyword keeps the keyword, which
 * tells its kind: `"GET /v2/x HTTP/1.1"` becomes `"GET <*>"`.
 */
export function maskSpans(message: string): string {
  if (!/[[({"']/.test(message)) return message;
  let out = '';
  let copied = 0; // message[copied…index) is still to be copied to out
  let index = 0;
  const replace = (end: number, replacement: string): void => {
    out += message.slice(copied, index) + replacement;
    copied = end + 1;
    index = end + 1;
  };
  while (index < message.length) {
    const char = message.charAt(index);
    const close = opening[char];
    if (close !== undefined) {
      const end = matchingClose(message, index);
      if (end > index) {
        const inner = message.slice(index + 1, end);
        // A one-word argument of a call, `chdir(pwd)`, `setLightsOn(true)`, is a value; `jk2_init()` has none.
        const argument = char === '(' && /\w/.test(message.charAt(index - 1)) && /^[\w.:-]+$/.test(inner);
        if (char === '{' ? inner.trim() !== '' : argument || /\d/.test(inner) || isVariable(inner.trim())) {
          replace(end, ` ${wildcard} `);
          continue;
        }
      }
    } else if ((char === '"' || char === "'") && opensQuote(message, index)) {
      const end = message.indexOf(char, index + 1);
      if (end > index && closesQuote(message, end)) {
        const inner = message.slice(index + 1, end).trim();
        // The message of a structured line (`msg="Reconcile done"`) is text to mine, not a value.
        if (!textKeys.test(message.slice(Math.max(0, index - 12), index))) {
          // An upper-case first word is a keyword of a record (`"GET /v2/x HTTP/1.1"`, `"SELECT …"`): it stays.
          const keyword = /^[A-Z]{2,10}(?=\s)/.exec(inner)?.[0];
          replace(end, keyword === undefined ? wildcard : `${char}${keyword} ${wildcard}${char}`);
          continue;
        }
      }
    }
    index += 1;
  }
  return out + message.slice(copied);
}

/** Index of the bracket closing the one at `start`, or -1 (brackets of all kinds nest; a stray one ends it). */
function matchingClose(text: string, start: number): number {
  const stack: string[] = [];
  for (let index = start; index < text.length; index += 1) {
    const char = text.charAt(index);
    const close = opening[char];
    if (close !== undefined) stack.push(close);
    else if (closing.has(char)) {
      if (stack.pop() !== char) return -1;
      if (stack.length === 0) return index;
    }
  }
  return -1;
}

// A quote opens a value at the start of a token or after `=`/`:`, and closes before a space, punctuation or the
// end; `couldn't` and `isn't` hold apostrophes, not quotes.
function opensQuote(text: string, index: number): boolean {
  return index === 0 || /[\s=:([{,]/.test(text.charAt(index - 1));
}

function closesQuote(text: string, index: number): boolean {
  return index === text.length - 1 || /[\s,;:.)\]}]/.test(text.charAt(index + 1));
}

/**
 * A JSON record (`{"level":"info","msg":"Reconcile done","ms":35}`) as `key=value` fields, so that its keys and
 * its message are words and its values are values; any other message as it is. Nested values stay JSON (one
 * `{…}` value each).
 */
function jsonAsFields(message: string): string {
  const text = message.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return message;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return message;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return message;
  return Object.entries(record as Record<string, unknown>)
    .map(([key, value]) => {
      const written = typeof value === 'string' ? value : JSON.stringify(value);
      return `${key}=${typeof value === 'string' && /[\s"]/.test(value) ? `"${value.replace(/"/g, "'")}"` : written}`;
    })
    .join(' ');
}

/**
 * The message as masked tokens: variable tokens become `<*>`, a unit after a number joins it, structured values
 * become one `<*>`, and a run of variables collapses into one (a value of varying length is still one value).
 */
export function maskedTokens(message: string): string[] {
  // Dot leaders join a label to its value (`instruction......0`): the label is a word, the value a value.
  const spans = maskSpans(jsonAsFields(message));
  const tokens = tokenize(spans.includes('...') ? spans.replace(/(\w)\.{3,}(?=\S)/g, '$1 ') : spans);
  const result: string[] = [];
  let previous = '';
  for (const token of tokens) {
    const masked = maskToken(token, previous);
    previous = token;
    if (result[result.length - 1] === wildcard) {
      if (masked === wildcard) continue;
      const core = token.replace(surrounding, '').toLowerCase();
      if (core === '' || units.has(core)) continue; // `5 ms`, or the `:` left after a `[pid]`
    }
    result.push(masked);
    dropRepeat(result);
  }
  return result;
}

/**
 * A list of values of varying length is one value: when the tokens end with a unit of two or three tokens
 * holding a variable twice over (`node-1 <ok> node-2 <ok>`), the second copy goes.
 */
function dropRepeat(tokens: string[]): void {
  for (let period = 2; period <= 3; period += 1) {
    const end = tokens.length;
    if (end < 2 * period) continue;
    let same = true;
    let variable = false;
    for (let offset = 0; offset < period && same; offset += 1) {
      const token = tokens[end - period + offset];
      same = token === tokens[end - 2 * period + offset];
      if (token === wildcard) variable = true;
    }
    if (same && variable) {
      tokens.length = end - period;
      return;
    }
  }
}

/** The masked message as one string (the key errors are grouped by at ingest). */
export function maskVariables(message: string): string {
  return maskedTokens(message).join(' ');
}
