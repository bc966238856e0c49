// Tampering with the audit log the way someone with write access to the state database (but not to the data
// dir's audit key and checkpoints) would, on SQLite and PostgreSQL: deleting the newest records, rewriting a
// record and recomputing every later hash (plain SHA-256 as the old chain allowed, or HMAC under a guessed
// key), editing or forging checkpoints. Verification names each of these; a chain begun before the key
// existed stays verified; a keyed chain without its key refuses to start.
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { randomIds } from '../../src/core/ids.js';
import type { Governance } from '../../src/governance/governance.js';
import type { Caller } from '../../src/governance/principal.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import type { AuditRecord } from '../../src/state/ports.js';
import { testGovernance } from '../helpers/governance.js';
import { idleRuntime } from '../helpers/idle-runtime.js';
import { stateStores, type TestStore } from '../helpers/state-stores.js';
import { waitFor } from '../helpers/wait-for.js';
import { mintPrincipal } from '../../src/governance/identity/credentials.js';

async function sql(subject: TestStore, statements: readonly string[]): Promise<void> {
  if (subject.url === undefined) {
    const database = new SqliteDatabase(join(subject.dataDir, 'state.db'));
    try {
      for (const statement of statements) database.exec(statement);
    } finally {
      database.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: subject.url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

const viewer: Caller = {
  principal: mintPrincipal({
    subject: 'vic',
    kind: 'user',
    autonomy: 2,
    issuer: 'test',
    grants: [{ role: 'viewer', scope: { namespace: 'default' } }],
  }),
  edge: 'rest',
  client: 'vitest',
};

type Fields = Omit<AuditRecord, 'hash'>;

/** What an attacker recomputes: the hash of every record from `from` on, with their own function. */
async function rewriteFrom(
  subject: TestStore,
  from: number,
  change: (record: AuditRecord) => AuditRecord,
  hash: (prevHash: string, fields: Fields) => string,
): Promise<void> {
  const records = await subject.store.audit.scan(0, 1000);
  let prevHash = records.find((record) => record.seq === from - 1)?.hash ?? '0'.repeat(64);
  const statements: string[] = [];
  for (const original of records.filter((record) => record.seq >= from)) {
    const changed = original.seq === from ? change(original) : original;
    const { hash: _old, ...fields } = { ...changed, prevHash };
    const next = hash(prevHash, fields);
    statements.push(
      `UPDATE audit_events SET decision = '${fields.decision}', prev_hash = '${prevHash}', hash = '${next}' WHERE seq = ${original.seq}`,
    );
    prevHash = next;
  }
  await sql(subject, statements);
}

const plainSha256 = (prevHash: string, fields: Fields) =>
  createHash('sha256').update(prevHash).update(canonicalJson(fields)).digest('hex');

describe.each(stateStores)('audit tampering on %s', (_name, open) => {
  let subject: TestStore;
  let platform: PlatformService;
  let governance: Governance;

  const checkpointsFile = () => join(subject.dataDir, 'audit', 'checkpoints.jsonl');
  const checkpointLines = () =>
    readFileSync(checkpointsFile(), 'utf8')
      .split('\n')
      .filter((line) => line !== '');

  beforeEach(async () => {
    subject = await open();
    platform = new PlatformService({
      store: subject.store,
      runtime: idleRuntime,
      clock: systemClock,
      ids: randomIds,
    });
    await bootstrapPlatform(platform);
    governance = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
  });

  afterEach(async () => {
    await governance.stop();
    await subject.dispose();
  });

  /** `count` audited reads, then a stop (its checkpoint) and a new start on the same store and data dir. */
  async function recordsThenRestart(count: number): Promise<void> {
    const services = governance.forCaller(viewer);
    for (let index = 0; index < count; index += 1) await services.list('Environment');
    await governance.stop();
    governance = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
  }

  it('reports the newest records deleted below the last checkpoint as truncation', async () => {
    await recordsThenRestart(6);
    expect(await governance.audit.verify()).toMatchObject({ ok: true, checked: 6, problems: [] });

    await sql(subject, ['DELETE FROM audit_events WHERE seq > 4']);
    const verified = await governance.audit.verify();
    expect(verified.ok).toBe(false);
    expect(verified.firstBroken).toBeNull();
    expect(verified.problems).toEqual([
      expect.stringMatching(/^truncated: checkpoint \d+ at seq 6 but the chain ends at 4/) as string,
    ]);
  });

  it('finds a record rewritten with every later hash recomputed in plain SHA-256', async () => {
    await recordsThenRestart(5);
    await rewriteFrom(subject, 2, (record) => ({ ...record, decision: 'deny' }), plainSha256);
    const verified = await governance.audit.verify();
    expect(verified).toMatchObject({
      ok: false,
      checked: 1,
      firstBroken: {
        seq: 2,
        problem: expect.stringMatching(/^rewritten: record 2's mac does not match/) as string,
      },
    });
    // The newest record no longer holds the hash its checkpoint signed.
    expect(verified.problems).toContainEqual(expect.stringMatching(/^rewritten: checkpoint \d+ at seq 5/));
  });

  it('finds a record rewritten with every later hash recomputed under a guessed key', async () => {
    await recordsThenRestart(5);
    const forged = randomBytes(32);
    await rewriteFrom(
      subject,
      3,
      (record) => ({ ...record, decision: 'deny' }),
      (prevHash, fields) =>
        createHmac('sha256', forged).update(prevHash).update(canonicalJson(fields)).digest('hex'),
    );
    expect(await governance.audit.verify()).toMatchObject({
      ok: false,
      checked: 2,
      firstBroken: { seq: 3, problem: expect.stringContaining("record 3's mac does not match") as string },
    });
  });

  it('refuses checkpoints that were edited, forged or removed', async () => {
    await recordsThenRestart(5);
    const lines = checkpointLines();
    const last = JSON.parse(lines.at(-1) ?? '{}') as { seq: number; hash: string; signature: string };
    expect(last.seq).toBe(5);
    const head4 = (await subject.store.audit.scan(3, 1))[0];
    await sql(subject, ['DELETE FROM audit_events WHERE seq = 5']);

    // Moved back to the new head, the old signature no longer fits.
    const edited = { ...last, seq: 4, hash: head4?.hash };
    writeFileSync(checkpointsFile(), [...lines.slice(0, -1), JSON.stringify(edited)].join('\n') + '\n');
    let verified = await governance.audit.verify();
    expect(verified.ok).toBe(false);
    expect(verified.problems).toContainEqual(
      expect.stringMatching(new RegExp(`^checkpoints: line ${lines.length} .*signature`)),
    );

    // Signed again with a key of one's own: not the audit key.
    const { privateKey } = generateKeyPairSync('ed25519');
    const { signature: _signature, ...payload } = edited;
    const forged = {
      ...edited,
      signature: sign(null, Buffer.from(canonicalJson(payload)), privateKey).toString('base64url'),
    };
    writeFileSync(checkpointsFile(), [...lines.slice(0, -1), JSON.stringify(forged)].join('\n') + '\n');
    verified = await governance.audit.verify();
    expect(verified.problems).toContainEqual(
      expect.stringMatching(new RegExp(`^checkpoints: line ${lines.length} .*signature`)),
    );

    rmSync(checkpointsFile());
    verified = await governance.audit.verify();
    expect(verified.ok).toBe(false);
    expect(verified.problems).toContainEqual(
      expect.stringMatching(/^checkpoints: none in .*checkpoints\.jsonl/),
    );
  });

  it('checkpoints the head while running and at shutdown', async () => {
    governance.start();
    const services = governance.forCaller(viewer);
    await services.list('Environment');
    const head = async () => (await subject.store.audit.head())?.seq ?? 0;
    await waitFor(
      () => JSON.parse(checkpointLines().at(-1) ?? '{}') as { seq?: number },
      (checkpoint) => checkpoint.seq === 1,
      { what: 'a checkpoint of the first record' },
    );
    await services.list('Environment');
    await services.list('Environment');
    await governance.stop();
    const last = JSON.parse(checkpointLines().at(-1) ?? '{}') as {
      seq: number;
      hash: string;
      reason: string;
    };
    expect(last.seq).toBe(await head());
    expect(last.hash).toBe((await subject.store.audit.head())?.hash);
    governance = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
  });

  it('refuses to start over a keyed chain when the audit key is missing', async () => {
    await recordsThenRestart(2);
    await governance.stop();
    rmSync(join(subject.dataDir, 'auth', 'audit-key.json'));
    const refused = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((refused as Error | undefined)?.message).toMatch(/is keyed, but there is no audit key at/);
    expect((refused as { hint?: string } | undefined)?.hint).toContain('audit.keyFile');
    // afterEach stops whatever `governance` is; a stopped one stops again without harm.
  });
});

describe.each(stateStores)('a chain begun before the audit key on %s', (_name, open) => {
  let subject: TestStore;
  let governance: Governance | undefined;

  afterEach(async () => {
    await governance?.stop();
    await subject.dispose();
  });

  it('keeps verifying the unkeyed records, keys the new ones, and finds the old ones rewritten', async () => {
    subject = await open();
    // Three records as the previous opspilot wrote them: a plain SHA-256 chain.
    let prevHash = '0'.repeat(64);
    const legacy: AuditRecord[] = [];
    for (let seq = 1; seq <= 3; seq += 1) {
      const fields: Fields = {
        seq,
        id: `legacy-${seq}`,
        at: new Date(Date.UTC(2025, 0, seq)).toISOString(),
        principal: 'vic',
        principalKind: 'user',
        client: 'vitest',
        edge: 'rest',
        action: 'platform.read',
        namespace: '',
        target: '*',
        argsDigest: 'sha256:x',
        decision: 'allow',
        reasons: ['viewer'],
        result: 'ok',
        details: null,
        latencyMs: 1,
        prevHash,
      };
      const hash = plainSha256(prevHash, fields);
      legacy.push({ ...fields, hash });
      prevHash = hash;
    }
    await subject.store.audit.append(legacy);
    const platform = new PlatformService({
      store: subject.store,
      runtime: idleRuntime,
      clock: systemClock,
      ids: randomIds,
    });
    await bootstrapPlatform(platform);
    governance = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
    const first = JSON.parse(
      readFileSync(join(subject.dataDir, 'audit', 'checkpoints.jsonl'), 'utf8').split('\n')[0] ?? '{}',
    ) as { seq: number; hash: string; reason: string };
    expect(first).toMatchObject({ seq: 3, hash: prevHash, reason: 'legacy' });

    await governance.forCaller(viewer).list('Environment');
    expect(await governance.audit.verify()).toMatchObject({ ok: true, checked: 4, problems: [] });

    // Rewriting an unkeyed record needs its SHA-256 successors recomputed, which moves the head the key holds.
    await rewriteFrom(
      subject,
      2,
      (record) => ({ ...record, decision: 'deny' }),
      (previous, fields) => (fields.seq <= 3 ? plainSha256(previous, fields) : 'f'.repeat(64)),
    );
    expect(await governance.audit.verify()).toMatchObject({
      ok: false,
      checked: 2,
      firstBroken: { seq: 3, problem: expect.stringContaining('rewritten: record 3') as string },
    });
  });
});
