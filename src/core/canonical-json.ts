// Canonical JSON: object keys sorted by UTF-16 code units (not locale), so that equal values always
// serialise to equal text: for change detection, argument digests and the audit hash chain.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const entries = Object.entries(item as Record<string, unknown>);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries);
  });
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function digest(value: unknown): string {
  return `sha256:${createHash('sha256')
    .update(value === undefined ? 'undefined' : canonicalJson(value))
    .digest('hex')}`;
}
