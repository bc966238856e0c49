// Offline grouping of a whole log: mine templates from the distinct masked messages, then split templates whose
// generalised positions hold a small closed set of words (`action SCREEN_ON` / `SCREEN_OFF`, `user=root` /
// `user=guest`): a few values, some of them recurring, are part of the message type; many values are parameters,
// and so is the word after a preposition (`for root` / `for admin`). Pure.
import { maskedTokens, wildcard } from './mask.js';
import { TemplateMiner, defaultMinerOptions, type MinerOptions } from './template-miner.js';

export interface GroupingOptions extends MinerOptions {
  /** A generalised position with at most this many distinct words splits. */
  readonly maxClosedValues: number;
  /**
   * Whether a closed set may hold words seen once (as long as one recurs): a rare event next to a common one
   * that differs from it in one word. Without it, every word of the set must recur.
   */
  readonly rareClosedValues: boolean;
}

export const defaultGroupingOptions: GroupingOptions = {
  ...defaultMinerOptions,
  maxClosedValues: 4,
  rareClosedValues: true,
};

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
  // Identical masked messages are one event: group each distinct key once, weighted by its lines.
  const keyOf = messages.map((message) => maskedTokens(message).join(' '));
  const entries = new Map<string, { index: number; weight: number }>();
  for (const key of keyOf) {
    const entry = entries.get(key);
    if (entry === undefined) entries.set(key, { index: entries.size, weight: 1 });
    else entry.weight += 1;
  }
  const grouping = groupWeightedKeys(
    [...entries].map(([key, { weight }]) => ({ key, weight })),
    options,
  );
  return {
    groups: keyOf.map((key) => grouping.groups[entries.get(key)?.index ?? 0] ?? 0),
    templates: grouping.templates,
  };
}

export interface WeightedKey {
  /** A message, or a key already masked (masking is idempotent). */
  readonly key: string;
  /** How many lines it stands for. */
  readonly weight: number;
}

/**
 * Groups distinct keys that stand for `weight` lines each: what `groupMessages` does with a whole log, and what
 * the live error summary does with the keys counted in SQL, so both group alike. `groups[i]` is the group of
 * `keys[i]`; groups are numbered by their first key.
 */
export function groupWeightedKeys(
  keys: readonly WeightedKey[],
  options: GroupingOptions = defaultGroupingOptions,
): Grouping {
  const miner = new TemplateMiner(options);
  const tokens = keys.map(({ key }) => maskedTokens(key));
  const weights = keys.map(({ weight }) => weight);
  // The miner sees the most frequent keys first, so the common forms seed the templates and the result does not
  // depend on the order of the lines.
  const order = keys.map((_, index) => index).sort((a, b) => (weights[b] ?? 0) - (weights[a] ?? 0) || a - b);
  const clusters = new Map<number, number[]>();
  for (const index of order) {
    const template = miner.add((tokens[index] ?? []).join(' '), weights[index] ?? 1);
    const list = clusters.get(template.id);
    if (list === undefined) clusters.set(template.id, [index]);
    else list.push(index);
  }
  for (const list of clusters.values()) list.sort((a, b) => a - b);

  const groups = new Array<number>(keys.length).fill(0);
  const templates: string[] = [];
  const parts = [...clusters.values()].flatMap((members) => split(members, tokens, weights, options));
  parts.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0)); // members are in input order: [0] is the first key
  for (const members of parts) {
    const id = templates.length;
    templates.push(templateOf(members.map((index) => tokens[index] ?? [])));
    for (const index of members) groups[index] = id;
  }
  return { groups, templates };
}

/** Splits members on the generalised position with the fewest recurring words, recursively. */
function split(
  members: readonly number[],
  tokens: readonly (readonly string[])[],
  weights: readonly number[],
  options: Pick<GroupingOptions, 'maxClosedValues' | 'rareClosedValues'>,
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
      if (values.size > options.maxClosedValues) {
        closed = false;
        break;
      }
    }
    if (!closed || values.size < 2) continue;
    if (parameterIntroducers.has((first[position - 1] ?? '').toLowerCase())) continue;
    const counts = [...values.values()].map((list) =>
      list.reduce((sum, member) => sum + (weights[member] ?? 1), 0),
    );
    if (options.rareClosedValues ? counts.every((count) => count < 2) : counts.some((count) => count < 2))
      continue;
    if (best === undefined || values.size < best.size) best = values;
  }
  if (best === undefined) return [[...members]];
  return [...best.values()].flatMap((part) => split(part, tokens, weights, options));
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
