// Build steps are workloads too: through the real API, in every isolation mode this machine can run, a Workflow
// step that tries to read the admin token, the signing keys, the data dir and the server's environment gets none
// of them into the run's logs; and an ordinary build still writes its output into its folder for a replica.
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { runnableIsolationModes } from './isolation-modes.js';

const modes = runnableIsolationModes();

let server: InProcessServer | undefined;
const folders: string[] = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

interface LogLine {
  readonly stream: string;
  readonly line: string;
}

async function start(mode: string): Promise<{ url: string; headers: Record<string, string> }> {
  server = await startInProcess({ OPSPILOT_RUNTIME__LOCAL__ISOLATION: mode });
  // Open the data dir's parent, so that only the data dir's own protection and the isolation keep steps out.
  chmodSync(server.workspace, 0o755);
  const admin = (await server.opspilot.adminToken()).token;
  return { url: server.url, headers: { authorization: `Bearer ${admin}` } };
}

async function apply(url: string, headers: Record<string, string>, yaml: string): Promise<void> {
  const response = await fetch(`${url}/api/v1/apply`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/yaml' },
    body: yaml,
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** Starts a WorkflowRun, waits for it to end and returns its phase and log lines. */
async function run(
  url: string,
  headers: Record<string, string>,
  name: string,
  spec: string,
): Promise<{ phase: string; lines: LogLine[] }> {
  await apply(
    url,
    headers,
    `apiVersion: opspilot.dev/v1alpha1\nkind: WorkflowRun\nmetadata: { name: ${name}, namespace: default }\nspec: ${spec}\n`,
  );
  const resource = await waitFor(
    async () => {
      const response = await fetch(`${url}/api/v1/namespaces/default/workflowruns/${name}`, { headers });
      return (await response.json()) as { status?: { phase?: string } };
    },
    (seen) => seen.status?.phase === 'Succeeded' || seen.status?.phase === 'Failed',
    { what: `workflow run ${name} to finish`, timeoutMs: 30_000 },
  );
  const response = await fetch(`${url}/api/v1/namespaces/default/workflowruns/${name}/logs`, { headers });
  const { lines } = (await response.json()) as { lines: LogLine[] };
  return { phase: resource.status?.phase ?? '', lines };
}

describe.skipIf(modes.length === 0).each(modes)('a build step in isolation mode %s', (mode) => {
  it('cannot get the admin token, keys, data dir or server environment into the run logs', async () => {
    const { url, headers } = await start(mode);
    const dataDir = join(server?.workspace ?? '', 'data');
    const admin = (await server?.opspilot.adminToken())?.token ?? '';
    const keys = JSON.parse(readFileSync(join(dataDir, 'auth', 'keys.json'), 'utf8')) as {
      privateJwk: { d: string };
      requestStateSecret: string;
    };
    const script = [
      'echo "uid=$(id -u)"',
      `cat ${dataDir}/auth/admin.token`,
      `cat ${dataDir}/auth/keys.json`,
      `ls -la ${dataDir} ${dataDir}/auth`,
      `cat /proc/${String(process.pid)}/environ`,
    ].join('; ');
    await apply(
      url,
      headers,
      `apiVersion: opspilot.dev/v1alpha1
kind: Workflow
metadata: { name: steal, namespace: default }
spec:
  steps:
    - { name: steal, command: sh, args: ["-c", ${JSON.stringify(script)}] }
`,
    );
    const { lines } = await run(url, headers, 'steal-1', '{ workflow: steal }');
    const text = lines.map((line) => line.line).join('\n');
    expect(text).toContain('uid=');
    expect(text).not.toContain(admin);
    expect(text).not.toContain(admin.split('.')[2] ?? admin);
    expect(text).not.toContain(keys.privateJwk.d);
    expect(text).not.toContain(keys.requestStateSecret);
    expect(text).not.toMatch(/^[-d]\S+\s.*\s(admin\.token|keys\.json|state\.db)$/m);
    expect(text).toMatch(/admin\.token: (Permission denied|No such file or directory)/);
    expect(text).toMatch(/keys\.json: (Permission denied|No such file or directory)/);
    expect(text).toMatch(/environ: (Permission denied|No such file or directory)/);
    if (mode === 'user') expect(text).not.toContain('uid=0');
    expect(lines).toContainEqual(
      expect.objectContaining({
        stream: 'system',
        line: expect.stringMatching(
          mode === 'user' ? /^isolation: user \(uid \d+\)$/ : /^isolation: sandbox \(bubblewrap\)$/,
        ) as string,
      }),
    );
  }, 60_000);

  it('is refused a working directory in the data dir', async () => {
    const { url, headers } = await start(mode);
    const dataDir = join(server?.workspace ?? '', 'data');
    await apply(
      url,
      headers,
      `apiVersion: opspilot.dev/v1alpha1
kind: Workflow
metadata: { name: inside, namespace: default }
spec:
  steps:
    - { name: read, command: cat, args: [admin.token], cwd: ${JSON.stringify(join(dataDir, 'auth'))} }
`,
    );
    const { phase, lines } = await run(url, headers, 'inside-1', '{ workflow: inside }');
    expect(phase).toBe('Failed');
    const text = lines.map((line) => line.line).join('\n');
    expect(text).toContain(`lies in opspilot's data dir ${dataDir}, which build steps may not use`);
    expect(text).not.toContain((await server?.opspilot.adminToken())?.token ?? '');
  }, 60_000);

  it('still writes its output into its folder, and a replica of the new release uses it', async () => {
    const { url, headers } = await start(mode);
    const folder = mkdtempSync(join(tmpdir(), 'opspilot-build-src-'));
    // Another folder of the server's user: the build may write in its own folder only.
    const other = mkdtempSync(join(tmpdir(), 'opspilot-build-other-'));
    folders.push(folder, other);
    chmodSync(folder, 0o755);
    chmodSync(other, 0o755);
    const build = `touch ${other}/changed || echo cannot-write-elsewhere; echo built-by-$OPSPILOT_WORKFLOW_RUN > out.txt && echo wrote`;
    await apply(
      url,
      headers,
      `apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: site, namespace: default, project: shop }
spec:
  type: worker
  run: { command: sh, args: ["-c", "cat out.txt; sleep 60"], cwd: ${JSON.stringify(folder)} }
  build: { command: sh, args: ["-c", ${JSON.stringify(build)}], cwd: ${JSON.stringify(folder)} }
`,
    );
    let name = 'site-build-1';
    if (mode === 'user') {
      // The folder is root's: the build's own uid may not write there until the operator gives it the folder,
      // as the failed run's log says.
      const refused = await run(url, headers, name, '{ component: site }');
      expect(refused.phase).toBe('Failed');
      const note = refused.lines.find((line) => line.line.includes('is not writable for uid'));
      expect(note?.line).toContain(`chown`);
      const uid = Number(/uid (\d+)/.exec(note?.line ?? '')?.[1]);
      expect(uid).toBeGreaterThan(0);
      chownSync(folder, uid, uid);
      name = 'site-build-2';
    }
    const built = await run(url, headers, name, '{ component: site }');
    expect(built.phase).toBe('Succeeded');
    expect(built.lines.map((line) => line.line)).toEqual(
      expect.arrayContaining(['cannot-write-elsewhere', 'wrote']),
    );
    expect(existsSync(join(other, 'changed'))).toBe(false);
    expect(statSync(join(folder, 'out.txt')).mode & 0o777).toBe(0o644);

    await apply(
      url,
      headers,
      `apiVersion: opspilot.dev/v1alpha1
kind: ReleaseBinding
metadata: { name: site-dev, namespace: default, project: shop }
spec: { component: site, environment: dev, replicas: 1, state: Active }
`,
    );
    await waitFor(
      async () => {
        const response = await fetch(
          `${url}/api/v1/namespaces/default/components/site/logs?environment=dev`,
          { headers },
        );
        return ((await response.json()) as { lines?: LogLine[] }).lines ?? [];
      },
      (seen) => seen.some((line) => line.line === `built-by-${name}`),
      { what: 'the replica to print the build output', timeoutMs: 30_000 },
    );
  }, 90_000);
});
