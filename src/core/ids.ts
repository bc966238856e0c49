// Identifiers: opaque resource uids and short, readable suffixes for replica names.
import { randomBytes, randomUUID } from 'node:crypto';

export interface IdGenerator {
  uid(): string;
  /** A short lowercase suffix such as `x7k2p`, valid inside a DNS label. */
  suffix(): string;
}

const alphabet = 'bcdfghjklmnpqrstvwxz2456789';

export const randomIds: IdGenerator = {
  uid: () => randomUUID(),
  suffix: () => {
    const bytes = randomBytes(5);
    let text = '';
    for (const byte of bytes) text += alphabet.charAt(byte % alphabet.length);
    return text;
  },
};
