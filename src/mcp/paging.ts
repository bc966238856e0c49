// Output sized for models: list results are cut by size into pages with an opaque cursor, and the text
// rendering says what was cut and how to get the rest.
import { InvalidError } from '../core/errors.js';

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
  readonly note: string | null;
}

export function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const offset = Number(Buffer.from(cursor, 'base64url').toString('utf8').replace(/^o:/, ''));
  if (!Number.isInteger(offset) || offset < 0) {
    throw new InvalidError('the cursor is not one this tool returned', [], {
      hint: 'Pass the nextCursor of the previous result unchanged, or leave it out to start over.',
    });
  }
  return offset;
}

/** Takes items from the cursor on until their JSON would pass `maxBytes` (always at least one). */
export function pageBySize<T>(all: readonly T[], cursor: string | undefined, maxBytes: number): Page<T> {
  const start = decodeCursor(cursor);
  const items: T[] = [];
  let bytes = 0;
  let index = start;
  for (; index < all.length; index += 1) {
    const size = Buffer.byteLength(JSON.stringify(all[index])) + 1;
    if (items.length > 0 && bytes + size > maxBytes) break;
    items.push(all[index] as T);
    bytes += size;
  }
  const more = index < all.length;
  return {
    items,
    nextCursor: more ? Buffer.from(`o:${index}`).toString('base64url') : null,
    note: more
      ? `showing ${start + 1}–${index} of ${all.length}; call again with cursor "${Buffer.from(`o:${index}`).toString('base64url')}" for more`
      : null,
  };
}

/** Caps a text at `maxBytes`, saying so. */
export function capText(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const cut = Buffer.from(text).subarray(0, maxBytes).toString('utf8');
  return `${cut}\n… (cut at ${maxBytes} bytes; narrow the query or page with the cursor)`;
}
