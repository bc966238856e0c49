// The checkpoints file on its own: signed lines read back in order across a rotation, and an edited line in
// the previous file named by its place.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditCheckpoints } from './audit-checkpoints.js';
import { createAuditKeys } from './audit-keys.js';

describe('audit checkpoints', () => {
  let folder: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'opspilot-checkpoints-'));
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('rotates past its size and reads both files in order, naming the place of a bad line', async () => {
    const keys = createAuditKeys(join(folder, 'audit-key.json'), null, new Date());
    const file = join(folder, 'checkpoints.jsonl');
    // A line is about 250 bytes: the third write finds the file past 400 and starts a new one.
    const checkpoints = new AuditCheckpoints(file, keys, 400);
    for (let seq = 1; seq <= 4; seq += 1) {
      await checkpoints.append({
        seq,
        hash: String(seq).repeat(64),
        at: new Date().toISOString(),
        reason: 'interval',
      });
    }
    expect(readFileSync(`${file}.1`, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    const read = checkpoints.read();
    expect(read.problems).toEqual([]);
    expect(read.checkpoints.map((stored) => [stored.place, stored.checkpoint.seq])).toEqual([
      ['checkpoints.jsonl.1 line 1', 1],
      ['checkpoints.jsonl.1 line 2', 2],
      ['line 1', 3],
      ['line 2', 4],
    ]);

    const previous = readFileSync(`${file}.1`, 'utf8').replace('"seq":2', '"seq":9');
    writeFileSync(`${file}.1`, previous);
    expect(checkpoints.read().problems).toEqual([
      'checkpoints: checkpoints.jsonl.1 line 2 has a signature that does not match its content (it was edited or forged)',
    ]);
  });

  it('starts a new line after a write cut short, and reports the fragment', async () => {
    const keys = createAuditKeys(join(folder, 'audit-key.json'), null, new Date());
    const file = join(folder, 'checkpoints.jsonl');
    writeFileSync(file, '{"seq":1,"ha');
    const checkpoints = new AuditCheckpoints(file, keys);
    await checkpoints.append({ seq: 2, hash: 'a'.repeat(64), at: new Date().toISOString(), reason: 'start' });
    const read = checkpoints.read();
    expect(read.checkpoints.map((stored) => [stored.place, stored.checkpoint.seq])).toEqual([['line 2', 2]]);
    expect(read.problems).toEqual([
      'checkpoints: line 1 is not a checkpoint (the file was edited, or a write was cut short)',
    ]);
  });
});
