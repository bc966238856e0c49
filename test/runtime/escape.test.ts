// The security review's escape, through the real API in every isolation mode this machine can run: a developer
// applies a worker that tries to read the admin token, the signing keys, the data dir, the state DB and the
// server's environment, then reads the worker's logs. None of the platform's secrets may come back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { runnableIsolationModes } from './isolation-modes.js';

const modes = runnableIsolationModes();

let server: InProcessServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function manifest(dataDir: string): string {
  const script = [
    'echo "uid=$(id -u)"',
    `cat ${dataDir}/auth/admin.token`,
    `cat ${dataDir}/auth/keys.json`,
    `ls -la ${dataDir} ${dataDir}/auth`,
    `head -c 4096 ${dataDir}/state.db`,
    `cat /proc/${String(process.pid)}/environ`,
    // On both streams: they are followed separately, so both must have been read up to here.
    'echo; echo escape-attempt-finished',
    'echo >&2; echo escape-attempt-finished >&2',
    'sleep 60',
  ].join('; ');
  return `apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: escape, namespace: default, project: shop }
spec:
  type: worker
  run: { command: sh, args: ["-c", ${JSON.stringify(script)}] }
---
apiVersion: opspilot.dev/v1alpha1
kind: ReleaseBinding
metadata: { name: escape-dev, namespace: default, project: shop }
spec: { component: escape, environment: dev, replicas: 1, state: Active }
`;
}

describe.skipIf(modes.length === 0).each(modes)('a workload in isolation mode %s', (mode) => {
  it('cannot get the admin token, keys, state DB or server environment into its logs', async () => {
    server = await startInProcess({ OPSPILOT_RUNTIME__LOCAL__ISOLATION: mode });
    const { url } = server;
    const dataDir = join(server.workspace, 'data');
    const admin = (await server.opspilot.adminToken()).token;
    const keys = JSON.parse(readFileSync(join(dataDir, 'auth', 'keys.json'), 'utf8')) as {
      privateJwk: { d: string };
      requestStateSecret: string;
    };
    const headers = { authorization: `Bearer ${admin}` };

    const applied = await fetch(`${url}/api/v1/apply`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/yaml' },
      body: manifest(dataDir),
    });
    expect(applied.status).toBe(200);

    const lines = await waitFor(
      async () => {
        const response = await fetch(
          `${url}/api/v1/namespaces/default/components/escape/logs?environment=dev`,
          { headers },
        );
        return ((await response.json()) as { lines?: { line: string }[] }).lines ?? [];
      },
      (seen) => seen.filter((line) => line.line === 'escape-attempt-finished').length === 2,
      { what: 'the escape attempt to finish', timeoutMs: 30_000 },
    );
    const text = lines.map((line) => line.line).join('\n');
    expect(text).not.toContain(admin);
    expect(text).not.toContain(admin.split('.')[2] ?? admin);
    expect(text).not.toContain(keys.privateJwk.d);
    expect(text).not.toContain(keys.requestStateSecret);
    expect(text).not.toContain('SQLite format 3');
    // No listing of the data dir either (ls -l lines end with the file name).
    expect(text).not.toMatch(/^[-d]\S+\s.*\s(admin\.token|keys\.json|state\.db)$/m);
    // Every attempt ran and was refused.
    expect(text).toMatch(/admin\.token: (Permission denied|No such file or directory)/);
    expect(text).toMatch(/keys\.json: (Permission denied|No such file or directory)/);
    expect(text).toMatch(/state\.db'?( for reading)?: (Permission denied|No such file or directory)/);
    expect(text).toMatch(/environ: (Permission denied|No such file or directory)/);
    if (mode === 'user') expect(text).not.toContain('uid=0');

    const status = await fetch(`${url}/api/v1/namespaces/default/components/escape`, { headers });
    const body = JSON.stringify(await status.json());
    expect(body).toContain(mode === 'user' ? '"mode":"user"' : '"mode":"sandbox"');
  });
});
