// Guessing where a log line's header ends when no `--format` is given. Headers are runs of fields a message never
// starts with in the same way twice: times, dates, pids, host and node ids (variables), levels, bracketed
// fields (`[main]`, `[10.30 16:49:06]`) and separators (`-`, `|`), closed by a component (`sshd[42]:`,
// `dfs.DataNode:`, `chrome.exe -`). Left in the message, they make unrelated short messages look alike and
// split one event across components. Pure.
import { isVariable } from './mask.js';

const levels = new Set([
  'trace',
  'debug',
  'dbg',
  'info',
  'notice',
  'warn',
  'warning',
  'error',
  'err',
  'fatal',
  'critical',
  'crit',
  'severe',
  'alert',
  'emerg',
  'emergency',
  'panic',
  'fine',
  'finer',
  'finest',
  'verbose',
]);
const headerKeys = new Set([
  'time',
  'ts',
  'timestamp',
  'date',
  'datetime',
  't',
  'pid',
  'tid',
  'thread',
  'host',
]);
const separators = new Set(['-', '--', '---', '|', '::', '>']);
const component = /^[\w.$/@*-]+(\([\w.:/-]*\))?(\[[\w.:/-]*\])?:$/;
const maxHeaderTokens = 16;
const componentLookahead = 4;
const maxHeaderColumns = 8;
const headerShare = 0.99;

interface Token {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

function tokensOf(line: string): Token[] {
  const tokens: Token[] = [];
  for (const match of line.matchAll(/\S+/g)) {
    tokens.push({ text: match[0], start: match.index, end: match.index + match[0].length });
  }
  return tokens;
}

function bracketBalance(token: string): number {
  let balance = 0;
  for (const char of token) {
    if (char === '[' || char === '(' || char === '{') balance += 1;
    else if (char === ']' || char === ')' || char === '}') balance -= 1;
  }
  return balance;
}

/** Index of the token closing a bracketed field opened by `tokens[from]`, or -1. */
function bracketEnd(tokens: readonly Token[], from: number): number {
  let depth = 0;
  for (let index = from; index < Math.min(tokens.length, from + 8); index += 1) {
    depth += bracketBalance(tokens[index]?.text ?? '');
    if (depth <= 0) return index;
  }
  return -1;
}

type Field = 'variable' | 'level' | 'bracket' | 'separator';

function fieldOf(token: string, previous: Field | undefined): Field | undefined {
  if (separators.has(token)) return 'separator';
  const bare = token.replace(/[,;:]+$/, '');
  if (levels.has(bare.toLowerCase())) return 'level';
  const keyed = /^(level|lvl|severity|loglevel)=["']?([a-z]+)["']?$/i.exec(bare); // logfmt: `level=info`
  if (keyed?.[2] !== undefined && levels.has(keyed[2].toLowerCase())) return 'level';
  if (/^\[[a-z]+\]$/i.test(bare) && levels.has(bare.slice(1, -1).toLowerCase())) return 'level';
  // One-letter levels (`03-17 16:13:38.811 1702 2395 D WindowManager:`) only right after a numeric field.
  if (previous === 'variable' && /^[VDIWEFA]$/.test(bare)) return 'level';
  // `onExtend:1514038530000` is a message word with its value; `time="…"`, `ts=…` are header fields, and
  // `gateway:80` is a host and port.
  const pair = /^([A-Za-z]+)([=:])(.+)$/.exec(token);
  const port = pair?.[2] === ':' && /^\d{1,5}$/.test(pair[3] ?? '');
  if (pair?.[1] !== undefined && !port && !headerKeys.has(pair[1].toLowerCase())) return undefined;
  if (isVariable(token)) return 'variable';
  return undefined;
}

/**
 * The message parts of the lines of one log without a known format. A column that is a variable on (nearly)
 * every line is a header column, and so are the plain names before it (`134681 node-246 unix.hw
 * state_change.unavailable 1077804742 1 …`: id, node, component, state, time, flag), so the header reaches at
 * least the last such column; each line's header is then guessed on from there.
 */
export function guessContents(lines: readonly string[]): string[] {
  const split = lines.map((line) => tokensOf(line.trim()));
  let headerColumns = 0;
  for (let column = 0; column < maxHeaderColumns && split.length > 0; column += 1) {
    let variables = 0;
    let names = 0;
    for (const tokens of split) {
      if (column >= tokens.length - 1) continue; // a column is header only if a message follows it
      const token = tokens[column]?.text ?? '';
      if (isVariable(token)) variables += 1;
      else if (/^[\w.-]+$/.test(token)) names += 1;
    }
    if (variables >= headerShare * split.length) headerColumns = column + 1;
    // A quoted word, a `component:` or a bracket ends the columns: the message or a header with a grammar.
    else if (variables + names < headerShare * split.length) break;
  }
  return lines.map((line, index) => {
    const tokens = split[index] ?? [];
    const text = line.trim();
    // A cut inside a bracketed field (`[req-1 - - -]`) moves to its end.
    let cut = headerColumns;
    let depth = 0;
    for (let column = 0; column < cut && column < tokens.length; column += 1)
      depth += bracketBalance(tokens[column]?.text ?? '');
    while (depth > 0 && cut < tokens.length - 1 && cut < headerColumns + 8) {
      depth += bracketBalance(tokens[cut]?.text ?? '');
      cut += 1;
    }
    const start = cut > 0 ? (tokens[cut]?.start ?? 0) : 0;
    return guessContent(text.slice(start), headerColumns > 0);
  });
}

/** The message part of a line without a known format: the line after its guessed header. */
export function guessContent(line: string, afterHeader = false): string {
  const text = line.trim();
  // `20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579`: fields joined by `|` before any space.
  const firstSpace = text.search(/\s/);
  const head = firstSpace < 0 ? text : text.slice(0, firstSpace);
  const pipe = head.lastIndexOf('|');
  if (pipe > 0 && isVariable(head.slice(0, head.indexOf('|')))) return text.slice(pipe + 1).trim() || text;

  const tokens = tokensOf(text);
  let contentStart = 0;
  let previous: Field | undefined = afterHeader ? 'variable' : undefined;
  // Header fields seen so far: a component or a name closes a header of two fields or more, so that a message
  // like `42 files failed: disk full` keeps its words.
  let fields = afterHeader ? 2 : 0;
  let index = 0;
  while (index < Math.min(tokens.length - 1, maxHeaderTokens)) {
    const token = tokens[index]?.text ?? '';
    if (token.startsWith('[') || token.startsWith('(')) {
      const end = bracketEnd(tokens, index);
      if (end >= 0 && end < tokens.length - 1) {
        previous = 'bracket';
        fields += 1;
        index = end + 1;
        contentStart = index;
        continue;
      }
    }
    if (fields >= 2 && component.test(token)) {
      contentStart = index + 1; // `com.apple.cts[43]:` names the component even though it holds digits
      break;
    }
    if (fields >= 2 && tokens[index + 1]?.text === ':' && /^[\w$]+(\.[\w$]+)+$/.test(token)) {
      contentStart = index + 2; // `[main] c.e.shop.OrderService : message`
      break;
    }
    const field = fieldOf(token, previous);
    if (field === 'separator' && previous !== undefined && previous !== 'variable') {
      contentStart = index + 1; // `… INFO [main] - message`: a separator after a named field ends the header
      break;
    }
    if (field !== undefined) {
      if (field !== 'separator') previous = field;
      fields += 1;
      index += 1;
      contentStart = index;
      continue;
    }
    // A word: the header goes on only if a component closes it within a few words (`combo sshd[42]:`,
    // `Google Chrome Helper[7]:`, `chrome.exe *64 -`), and only after at least one header field.
    // An upper-case level closes it too (`RAS KERNEL INFO`), and the header may go on after a level.
    if ((previous !== 'variable' && previous !== 'level') || fields < 2) break;
    let closer = -1;
    let level = false;
    for (let ahead = index; ahead < Math.min(tokens.length - 1, index + componentLookahead); ahead += 1) {
      const candidate = tokens[ahead]?.text ?? '';
      // Only names lead to the component: `"GET /x HTTP/1.1" status:` is a message.
      if (ahead > index && !/^[\w.-]+$/.test(tokens[ahead - 1]?.text ?? '')) break;
      // `c.e.shop.OrderService :`: a logger name and a lone colon.
      const logger = candidate === ':' && /^[\w$]+(\.[\w$]+)+$/.test(tokens[ahead - 1]?.text ?? '');
      if (component.test(candidate) || separators.has(candidate) || logger) {
        closer = ahead;
        break;
      }
      if (ahead > index && /^[A-Z]+$/.test(candidate) && levels.has(candidate.toLowerCase())) {
        closer = ahead;
        level = true;
        break;
      }
    }
    if (closer < 0) break;
    contentStart = closer + 1;
    if (!level) break;
    previous = 'level';
    index = closer + 1;
  }
  // One leading field is no header to cut: a value that starts every line of an event is harmless, and
  // `proxy:5070 open through proxy` keeps its words.
  if (contentStart === 0 || fields < 2) return text;
  const start = tokens[Math.min(contentStart, tokens.length - 1)]?.start ?? 0;
  return text.slice(start);
}
