// Signed checkpoints of the audit chain's head, appended to a file in the data dir (not the state database):
// whoever can rewrite the database cannot move them, so deleting records below the latest one shows.
import { sign, verify } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { z } from 'zod';
import { canonicalJson } from '../../core/canonical-json.js';
import type { AuditKeys } from './audit-keys.js';

/**
 * Why a checkpoint was written: `new-key` and `legacy` open a keyed chain (empty, or over records an older
 * opspilot left unkeyed), `start` after a start found the head moved, `interval` and `records` while running,
 * `shutdown` at a stop.
 */
const reasons = ['new-key', 'legacy', 'start', 'interval', 'records', 'shutdown'] as const;
export type CheckpointReason = (typeof reasons)[number];

const checkpointSchema = z.strictObject({
  seq: z.number().int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string(),
  reason: z.enum(reasons),
  keyId: z.string(),
  signature: z.string(),
});

export type Checkpoint = z.infer<typeof checkpointSchema>;

/** A checkpoint as read back, with where it was found. */
export interface StoredCheckpoint {
  readonly checkpoint: Checkpoint;
  /** `line 7`, or `checkpoints.jsonl.1 line 7` in the previous file. */
  readonly place: string;
}

function signedBytes(checkpoint: Omit<Checkpoint, 'signature'>): Buffer {
  const { seq, hash, at, reason, keyId } = checkpoint;
  return Buffer.from(canonicalJson({ seq, hash, at, reason, keyId }));
}

export class AuditCheckpoints {
  /** A file left without its final newline (a write cut short) gets one before the next line. */
  private needsNewline: boolean | undefined;

  constructor(
    readonly file: string,
    private readonly keys: AuditKeys,
    /**
     * Past this size the file is renamed to `<file>.1` (replacing an older one) and a new one begins with the
     * checkpoint being written: verification reads both, so memory stays bounded on a server busy for years.
     */
    private readonly rotateBytes = 16 * 1024 * 1024,
  ) {}

  /**
   * Every checkpoint in the previous and the current file, oldest first, and what is wrong with the rest:
   * lines that do not parse, carry another key's id or a signature that does not match, or go back in seq.
   */
  read(): { readonly checkpoints: StoredCheckpoint[]; readonly problems: string[] } {
    const checkpoints: StoredCheckpoint[] = [];
    const problems: string[] = [];
    for (const [file, prefix] of [
      [`${this.file}.1`, `${basename(this.file)}.1 `],
      [this.file, ''],
    ] as const) {
      if (!existsSync(file)) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      lines.forEach((line, index) => {
        const place = `${prefix}line ${index + 1}`;
        const problem = this.lineProblem(line, checkpoints.at(-1));
        if (typeof problem === 'string') problems.push(`checkpoints: ${place} ${problem}`);
        else checkpoints.push({ checkpoint: problem, place });
      });
    }
    return { checkpoints, problems };
  }

  private lineProblem(line: string, previous: StoredCheckpoint | undefined): Checkpoint | string {
    let parsed: Checkpoint;
    try {
      parsed = checkpointSchema.parse(JSON.parse(line));
    } catch {
      return 'is not a checkpoint (the file was edited, or a write was cut short)';
    }
    if (parsed.keyId !== this.keys.keyId) {
      return `has a signature by key ${parsed.keyId}, not by this audit key ${this.keys.keyId}`;
    }
    const signature = Buffer.from(parsed.signature, 'base64url');
    if (!verify(null, signedBytes(parsed), this.keys.publicKey, signature)) {
      return 'has a signature that does not match its content (it was edited or forged)';
    }
    if (previous !== undefined && parsed.seq < previous.checkpoint.seq) {
      return `goes back to seq ${parsed.seq} after ${previous.place} at seq ${previous.checkpoint.seq} (the chain was cut and grown again)`;
    }
    return parsed;
  }

  /** Signs and appends one checkpoint, durably (fdatasync) before it resolves. */
  async append(head: Omit<Checkpoint, 'keyId' | 'signature'>): Promise<Checkpoint> {
    const unsigned = { ...head, keyId: this.keys.keyId };
    const checkpoint: Checkpoint = {
      ...unsigned,
      signature: sign(null, signedBytes(unsigned), this.keys.privateKey).toString('base64url'),
    };
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    let size = existsSync(this.file) ? statSync(this.file).size : 0;
    if (size > this.rotateBytes) {
      renameSync(this.file, `${this.file}.1`);
      size = 0;
      this.needsNewline = false;
    }
    this.needsNewline ??= size > 0 && !readFileSync(this.file, 'utf8').endsWith('\n');
    const handle = await open(this.file, 'a', 0o600);
    try {
      await handle.write(`${this.needsNewline ? '\n' : ''}${JSON.stringify(checkpoint)}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.needsNewline = false;
    return checkpoint;
  }
}
