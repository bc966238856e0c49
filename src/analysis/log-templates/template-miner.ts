// Online log template mining: each message joins the most similar template of its length (and leading tokens)
// or starts a new one; positions where members differ become `<*>`. The idea follows Drain (He et al., ICWS
// 2017) with one fixed configuration for every log source. Pure: no I/O.
import { isVariable, maskedTokens, wildcard } from './mask.js';

export interface MinerOptions {
  /** Share of equal constant tokens needed to join a template. */
  readonly similarity: number;
  /** Leading tokens that route a message before similarity is compared. */
  readonly depth: number;
  /** Most templates a routing leaf holds before a new one replaces the least used. */
  readonly maxPerLeaf: number;
}

export const defaultMinerOptions: MinerOptions = { similarity: 0.5, depth: 1, maxPerLeaf: 200 };

export interface Template {
  readonly id: number;
  /** Tokens; `<*>` marks a variable position. */
  readonly tokens: string[];
  size: number;
}

export class TemplateMiner {
  private readonly leaves = new Map<string, Template[]>();
  private readonly all: Template[] = [];

  constructor(private readonly options: MinerOptions = defaultMinerOptions) {}

  /** Adds a message (or an already masked key with a weight) and returns its template. */
  add(message: string, weight = 1): Template {
    const tokens = maskedTokens(message);
    const key = this.routeKey(tokens);
    let leaf = this.leaves.get(key);
    if (leaf === undefined) {
      leaf = [];
      this.leaves.set(key, leaf);
    }
    const best = this.bestMatch(leaf, tokens);
    if (best !== undefined) {
      best.size += weight;
      for (let index = 0; index < tokens.length; index += 1) {
        if (best.tokens[index] !== tokens[index]) best.tokens[index] = wildcard;
      }
      return best;
    }
    const template: Template = { id: this.all.length, tokens: [...tokens], size: weight };
    this.all.push(template);
    leaf.push(template);
    if (leaf.length > this.options.maxPerLeaf) {
      leaf.sort((a, b) => b.size - a.size);
      leaf.pop();
    }
    return template;
  }

  /** Finds the template a message belongs to without changing anything. */
  match(message: string): Template | undefined {
    const tokens = maskedTokens(message);
    return this.bestMatch(this.leaves.get(this.routeKey(tokens)) ?? [], tokens);
  }

  templates(): readonly Template[] {
    return this.all;
  }

  private routeKey(tokens: readonly string[]): string {
    const parts: string[] = [String(tokens.length)];
    for (let index = 0; index < Math.min(this.options.depth, tokens.length); index += 1) {
      const token = tokens[index] ?? '';
      parts.push(token === wildcard || isVariable(token) ? wildcard : token);
    }
    return parts.join('\u0000');
  }

  private bestMatch(leaf: readonly Template[], tokens: readonly string[]): Template | undefined {
    let best: Template | undefined;
    let bestScore = -1;
    let bestWildcards = 0;
    for (const template of leaf) {
      // Drain's similarity: the share of the message's positions where template and message hold the same word.
      // Sharing a variable is no evidence of one event (every message has numbers), so it does not count,
      // except for a message that is all variables, which can only join a template of the same shape.
      let words = 0;
      let variables = 0;
      let wildcards = 0;
      for (let index = 0; index < tokens.length; index += 1) {
        const token = template.tokens[index];
        const own = tokens[index];
        if (own === wildcard) variables += 1;
        if (token === wildcard) wildcards += 1;
        else if (token === own) words += 1;
      }
      const score =
        variables === tokens.length ? (wildcards === tokens.length ? 1 : 0) : words / tokens.length;
      if (score > bestScore || (score === bestScore && wildcards > bestWildcards)) {
        best = template;
        bestScore = score;
        bestWildcards = wildcards;
      }
    }
    return best !== undefined && bestScore >= this.options.similarity ? best : undefined;
  }
}

export function templateText(template: Template): string {
  return template.tokens.join(' ');
}
