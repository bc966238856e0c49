// Verification of the audit chain: every record's link and HMAC (plain SHA-256 for the segment an opspilot
// before keyed audit left), every checkpoint's signature, and that the chain still holds each checkpoint's
// head at its seq and reaches the latest one. Shared by the server and the offline `opspilot audit verify`.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';
import type { AuditRecord, AuditRepository } from '../../state/ports.js';
import type { AuditCheckpoints, StoredCheckpoint } from './audit-checkpoints.js';
import type { AuditKeys } from './audit-keys.js';

export interface VerifyResult {
  /** No problem found. */
  readonly ok: boolean;
  /** Records whose link and MAC hold, from the first up to the first broken one. */
  readonly checked: number;
  /** The last record of the chain as found (it may be after a broken one), null for an empty chain. */
  readonly head: { seq: number; hash: string } | null;
  readonly firstBroken: { seq: number; id: string; problem: string } | null;
  /**
   * Everything found, each starting with what happened: `missing:`, `reordered:`, `rewritten:`, `truncated:`,
   * `checkpoints:`. At most 20 (the last one says how many more there were).
   */
  readonly problems: readonly string[];
  readonly checkpoints: {
    readonly file: string;
    /** Checkpoints whose signature holds. */
    readonly count: number;
    readonly latest: { seq: number; at: string } | null;
    /** Records after the latest checkpoint: deleting those would not show. */
    readonly newerRecords: number;
  };
}

export const genesisHash = '0'.repeat(64);

type Unsigned = Omit<AuditRecord, 'hash'> & { hash?: string };

/** HMAC-SHA256 under the audit key over the previous hash and the canonical JSON of every other field. */
export function recordMac(macKey: Buffer, record: Unsigned): string {
  const { hash: _hash, ...fields } = record;
  return createHmac('sha256', macKey).update(record.prevHash).update(canonicalJson(fields)).digest('hex');
}

/** The unkeyed hash of records written before the audit key existed (anyone can recompute it). */
export function legacyRecordHash(record: Unsigned): string {
  const { hash: _hash, ...fields } = record;
  return createHash('sha256').update(record.prevHash).update(canonicalJson(fields)).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Whether a record's hash is the one the chain's rules give it (HMAC, or SHA-256 in the legacy segment). */
export function holds(keys: AuditKeys, record: AuditRecord): boolean {
  const legacy = keys.legacyHead !== null && record.seq <= keys.legacyHead.seq;
  return sameHex(legacy ? legacyRecordHash(record) : recordMac(keys.macKey, record), record.hash);
}

const maxProblems = 20;
const page = 1000;

export async function verifyAuditChain(options: {
  readonly records: Pick<AuditRepository, 'scan'>;
  readonly keys: AuditKeys;
  readonly checkpoints: AuditCheckpoints;
}): Promise<VerifyResult> {
  const { keys } = options;
  // Checkpoints first: each names a record committed before it was written, so the scan below must find it.
  const read = options.checkpoints.read();
  const problems = [...read.problems];
  const bySeq = new Map<number, StoredCheckpoint[]>();
  for (const stored of read.checkpoints) {
    bySeq.set(stored.checkpoint.seq, [...(bySeq.get(stored.checkpoint.seq) ?? []), stored]);
  }
  const seen = new Set<number>();
  const legacy = keys.legacyHead;

  let previous = { seq: 0, hash: genesisHash };
  let checked = 0;
  let firstBroken: VerifyResult['firstBroken'] = null;
  for (;;) {
    const records = await options.records.scan(previous.seq, page);
    for (const record of records) {
      if (firstBroken === null) {
        const problem = recordProblem(keys, record, previous);
        if (problem === undefined) checked += 1;
        else {
          firstBroken = { seq: record.seq, id: record.id, problem };
          problems.push(problem);
        }
      }
      for (const { checkpoint, place } of bySeq.get(record.seq) ?? []) {
        seen.add(record.seq);
        if (checkpoint.hash !== record.hash) {
          problems.push(
            `rewritten: checkpoint ${placeName(place)} at seq ${record.seq} holds hash ${short(checkpoint.hash)}, record ${record.seq} has ${short(record.hash)}`,
          );
        }
      }
      previous = { seq: record.seq, hash: record.hash };
    }
    if (records.length < page) break;
  }

  const end = previous.seq;
  for (const [seq, stored] of bySeq) {
    if (seq === 0 || seq > end || seen.has(seq)) continue;
    problems.push(
      `missing: checkpoint ${placeName(stored[0]?.place ?? '')} at seq ${seq}, but record ${seq} is not in the chain`,
    );
  }
  const latest = read.checkpoints.reduce<StoredCheckpoint | undefined>(
    (best, stored) => (best === undefined || stored.checkpoint.seq >= best.checkpoint.seq ? stored : best),
    undefined,
  );
  if (latest !== undefined && latest.checkpoint.seq > end) {
    problems.push(
      `truncated: checkpoint ${placeName(latest.place)} at seq ${latest.checkpoint.seq} but the chain ends at ${end} (the newest records were deleted)`,
    );
  }
  if (legacy !== null && end < legacy.seq) {
    problems.push(
      `truncated: the audit key was made over a chain ending at seq ${legacy.seq}, but the chain ends at ${end}`,
    );
  }
  if (read.checkpoints.length === 0 && end > 0) {
    problems.push(
      `checkpoints: none in ${options.checkpoints.file}: deleting the newest records cannot be ruled out (was the file deleted? restore it from a backup)`,
    );
  }
  const shown =
    problems.length > maxProblems
      ? [...problems.slice(0, maxProblems - 1), `… and ${problems.length - maxProblems + 1} more problems`]
      : problems;
  return {
    ok: problems.length === 0,
    checked,
    head: end === 0 ? null : previous,
    firstBroken,
    problems: shown,
    checkpoints: {
      file: options.checkpoints.file,
      count: read.checkpoints.length,
      latest: latest === undefined ? null : { seq: latest.checkpoint.seq, at: latest.checkpoint.at },
      newerRecords: Math.max(0, end - (latest?.checkpoint.seq ?? 0)),
    },
  };
}

function recordProblem(
  keys: AuditKeys,
  record: AuditRecord,
  previous: { seq: number; hash: string },
): string | undefined {
  if (record.seq !== previous.seq + 1) {
    return `missing: expected seq ${previous.seq + 1}, found ${record.seq} (a record is missing)`;
  }
  if (record.prevHash !== previous.hash) {
    return `reordered: record ${record.seq}'s prevHash does not match the record before it (a record was removed or reordered)`;
  }
  const legacy = keys.legacyHead;
  if (legacy !== null && record.seq <= legacy.seq) {
    if (!holds(keys, record)) {
      return `rewritten: record ${record.seq}'s hash does not match (a field was changed)`;
    }
    if (record.seq === legacy.seq && record.hash !== legacy.hash) {
      return `rewritten: record ${record.seq} ends the unkeyed chain the audit key was made over, but its hash is not the one the key holds (an unkeyed record up to ${legacy.seq} was changed and the hashes recomputed)`;
    }
    return undefined;
  }
  if (!holds(keys, record)) {
    return `rewritten: record ${record.seq}'s mac does not match (a field was changed, or it was written without the audit key)`;
  }
  return undefined;
}

/** `line 7` → `7`; `checkpoints.jsonl.1 line 7` → `7 of checkpoints.jsonl.1`. */
function placeName(place: string): string {
  const match = /^(?:(\S+) )?line (\d+)$/.exec(place);
  if (match === null) return place;
  return match[1] === undefined ? (match[2] ?? place) : `${match[2] ?? ''} of ${match[1]}`;
}

function short(hash: string): string {
  return `${hash.slice(0, 16)}…`;
}
