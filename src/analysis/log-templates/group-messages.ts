// Offline grouping of a whole log: mine templates online, then split templates whose generalised positions hold
// a small closed set of recurring words (`action SCREEN_ON` / `SCREEN_OFF`, `user=root` / `user=guest`): a few
// frequent values are part of the message type, many rare ones are parameters. Pure.
import { maskedTokens, wildcard } from './mask.js';
import { TemplateMiner, defaultMinerOptions, type MinerOptions } from './template-miner.js';

export interface GroupingOptions extends MinerOptions {
  /** A generalised position with at most this many distinct words, each seen at least twice, splits. */
  readonly maxClosedValues: number;
}

export const defaultGroupingOptions: GroupingOptions = { ...defaultMinerOptions, maxClosedValues: 4 };

export interface Grouping {
  /** Group number of every message, in input order; groups are numbered by their first message. */
  readonly groups: number[];
  /** Template text of every group. */
  readonly templates: string[];
}

export function groupMessages(
  messages: readonly string[],
  options: GroupingOptions = defaultGroupingOptions,
): Grouping {
  const miner = new TemplateMiner(options);
  const tokens = messages.map((message) => maskedTokens(message));
  const clusters = new Map<number, number[]>();
  // Identical masked messages are one event; the miner sees each distinct one once, most frequent first, so the
  // common forms seed the templates and the result does not depend on the order of the lines.
  const byKey = new Map<string, number[]>();
  tokens.forEach((list, index) => {
    const key = list.join(' ');
    const members = byKey.get(key);
    if (members === undefined) byKey.set(key, [index]);
    else members.push(index);
  });
  const keys = [...byKey].sort((a, b) => b[1].length - a[1].length || (a[1][0] ?? 0) - (b[1][0] ?? 0));
  for (const [key, members] of keys) {
    const template = miner.add(key, members.length);
    const list = clusters.get(template.id);
    if (list === undefined) clusters.set(template.id, [...members]);
    else list.push(...members);
  }
  for (const list of clusters.values()) list.sort((a, b) => a - b);

  const groups = new Array<number>(messages.length).fill(0);
  const templates: string[] = [];
  const emit = (members: readonly number[]): void => {
    const id = templates.length;
    templates.push(templateOf(members.map((index) => tokens[index] ?? [])));
    for (const index of members) groups[index] = id;
  };
  const parts = [...clusters.values()].flatMap((members) => split(members, tokens, options.maxClosedValues));
  parts.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0)); // members are in input order: [0] is the first message
  parts.forEach(emit);
  return { groups, templates };
}

/** Splits members on the generalised position with the fewest recurring words, recursively. */
function split(
  members: readonly number[],
  tokens: readonly (readonly string[])[],
  maxValues: number,
): number[][] {
  const first = tokens[members[0] ?? 0] ?? [];
  let best: Map<string, number[]> | undefined;
  for (let position = 0; position < first.length; position += 1) {
    const values = new Map<string, number[]>();
    let closed = true;
    for (const member of members) {
      const token = tokens[member]?.[position];
      if (token === undefined || token.includes(wildcard)) {
        closed = false; // a variable at this position: it is a parameter, not a closed set of words
        break;
      }
      const list = values.get(token);
      if (list === undefined) values.set(token, [member]);
      else list.push(member);
      if (values.size > maxValues) {
        closed = false;
        break;
      }
    }
    if (!closed || values.size < 2) continue;
    if (parameterIntroducers.has((first[position - 1] ?? '').toLowerCase())) continue;
    if ([...values.values()].some((list) => list.length < 2)) continue;
    if (best === undefined || values.size < best.size) best = values;
  }
  if (best === undefined) return [[...members]];
  return [...best.values()].flatMap((part) => split(part, tokens, maxValues));
}

// The word after a preposition that names an entity is that entity, a parameter however few its values are:
// `Failed password for root` / `for admin` is one event. (`to` is left out: `to spawn` / `to destroy` are verbs.)
const parameterIntroducers = new Set(['for', 'from', 'by', 'with', 'at', 'of', 'on', 'via', 'into', 'onto']);

function templateOf(members: readonly (readonly string[])[]): string {
  const [first = []] = members;
  return first
    .map((token, position) => (members.every((member) => member[position] === token) ? token : wildcard))
    .join(' ');
}
