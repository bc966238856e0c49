// The audit key: an HMAC secret that keys the record chain and an Ed25519 pair that signs its checkpoints, in
// one 0600 file kept in the data dir's auth area (never in the state database), created at first start.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Config } from '../../config/config-schema.js';
import { InvalidError, errorMessage } from '../../core/errors.js';

const keyFileSchema = z.object({
  version: z.literal(1),
  /** Names the signing key in each checkpoint (the first 16 hex digits of its public key's SHA-256). */
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  createdAt: z.string(),
  /** 32 random bytes, base64url. */
  macKey: z.string().min(43),
  /** PKCS#8 and SPKI PEM. */
  privateKey: z.string(),
  publicKey: z.string(),
  /**
   * The head of the chain an opspilot before keyed audit left (plain SHA-256 records 1…seq), or null when the
   * key is older than every record. Kept here, where a database writer cannot move it.
   */
  legacyHead: z.object({ seq: z.number().int().min(1), hash: z.string() }).nullable(),
});

export interface AuditKeys {
  readonly file: string;
  readonly keyId: string;
  readonly createdAt: string;
  readonly macKey: Buffer;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly legacyHead: { readonly seq: number; readonly hash: string } | null;
}

/** Where the audit key and the checkpoints live for this config. */
export function auditPaths(config: Pick<Config, 'dataDir' | 'audit'>): {
  keyFile: string;
  checkpointsFile: string;
} {
  return {
    keyFile: resolve(config.audit.keyFile ?? join(config.dataDir, 'auth', 'audit-key.json')),
    checkpointsFile: resolve(
      config.audit.checkpointsFile ?? join(config.dataDir, 'audit', 'checkpoints.jsonl'),
    ),
  };
}

/** Reads the key file; undefined when there is none. */
export function readAuditKeys(file: string): AuditKeys | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: z.infer<typeof keyFileSchema>;
  try {
    parsed = keyFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new InvalidError(`cannot read the audit key ${file}: ${errorMessage(error)}`, [], {
      hint: 'Restore it from a backup. Without it the audit chain cannot be extended or verified.',
    });
  }
  return {
    file,
    keyId: parsed.keyId,
    createdAt: parsed.createdAt,
    macKey: Buffer.from(parsed.macKey, 'base64url'),
    privateKey: createPrivateKey(parsed.privateKey),
    publicKey: createPublicKey(parsed.publicKey),
    legacyHead: parsed.legacyHead,
  };
}

/**
 * Creates the key file (mode 0600) unless another process just did; returns the key on disk. `legacyHead` is
 * the chain head the key is created over (records that were never keyed).
 */
export function createAuditKeys(
  file: string,
  legacyHead: { seq: number; hash: string } | null,
  now: Date,
): AuditKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicDer = publicKey.export({ type: 'spki', format: 'der' });
  const content: z.infer<typeof keyFileSchema> = {
    version: 1,
    keyId: createHash('sha256').update(publicDer).digest('hex').slice(0, 16),
    createdAt: now.toISOString(),
    macKey: randomBytes(32).toString('base64url'),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    legacyHead,
  };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(content, null, 2), { mode: 0o600 });
  chmodSync(temporary, 0o600);
  // link() fails when the file exists: of two processes creating it at once, the first one's key wins.
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  const keys = readAuditKeys(file);
  if (keys === undefined) throw new Error(`the audit key ${file} vanished while it was created`);
  return keys;
}
