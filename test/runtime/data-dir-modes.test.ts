// The data dir of a real `opspilot up`: created 0700 with every file in it 0600 (tokens, keys, SQLite and DuckDB
// files, runtime records, captured output), and an existing data dir with looser modes is fixed at start.
// `opspilot describe` shows each replica's isolation. Needs `npm run build` (it runs dist/).
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startServer, type RunningServer } from '../helpers/opspilot-process.js';
import { waitFor } from '../helpers/wait-for.js';

let workspace: string;
let server: RunningServer | undefined;

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-modes-'));
  chmodSync(workspace, 0o755);
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  rmSync(workspace, { recursive: true, force: true });
});

/** Every entry under `root` whose permission bits are not the expected ones. */
function looseEntries(root: string): string[] {
  const loose: string[] = [];
  const visit = (path: string): void => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    const mode = stat.mode & 0o777;
    if (stat.isDirectory()) {
      if (mode !== 0o700) loose.push(`${path} ${mode.toString(8)}`);
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else if (mode !== 0o600) {
      loose.push(`${path} ${mode.toString(8)}`);
    }
  };
  visit(root);
  return loose;
}

const worker = `apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: ticker, namespace: default, project: shop }
spec:
  type: worker
  run: { command: sh, args: ["-c", "while true; do echo tick; sleep 1; done"] }
---
apiVersion: opspilot.dev/v1alpha1
kind: ReleaseBinding
metadata: { name: ticker-dev, namespace: default, project: shop }
spec: { component: ticker, environment: dev, replicas: 1, state: Active, resources: { limits: { memory: 64Mi } } }
`;

describe('the data dir of opspilot up', () => {
  it('is 0700 with every file 0600, also when it existed with looser modes', async () => {
    const dataDir = join(workspace, 'data');
    mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dataDir, 'auth', 'old.token'), 'left by an older version\n', { mode: 0o644 });
    chmodSync(dataDir, 0o755);

    server = await startServer({ dataDir });
    const file = join(workspace, 'ticker.yaml');
    writeFileSync(file, worker);
    const applied = await runCli(['apply', '-f', file], { server: server.url });
    expect(applied.code).toBe(0);
    await waitFor(
      () => readdirSync(join(dataDir, 'runtime', 'local', 'logs')).length,
      (count) => count > 0,
      { what: 'captured output of the worker' },
    );
    // Some telemetry committed too, so that DuckDB has written its files.
    await waitFor(
      () => readdirSync(dataDir),
      (entries) => entries.includes('telemetry.duckdb') && entries.includes('state.db'),
      { what: 'the state and telemetry databases' },
    );

    expect(looseEntries(dataDir)).toEqual([]);
  });

  it('shows the isolation of each replica in describe', async () => {
    server = await startServer({ dataDir: join(workspace, 'data') });
    const file = join(workspace, 'ticker.yaml');
    writeFileSync(file, worker);
    expect((await runCli(['apply', '-f', file], { server: server.url })).code).toBe(0);
    const described = await waitFor(
      () => runCli(['describe', 'component', 'ticker'], { server: server?.url }),
      (result) => /Isolation:/.test(result.stdout),
      { what: 'describe to show the isolation', timeoutMs: 20_000 },
    );
    const expected = process.getuid?.() === 0 ? /Isolation:\s+user \(uid \d+\)/ : /Isolation:\s+sandbox/;
    expect(described.stdout).toMatch(expected);
  });
});
