// The CLI's other commands against a real server: describe, logs, build, YAML round trip, dry run,
// delete -f, config print and help.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentStatus } from '../../src/platform/contracts.js';
import type { Resource } from '../../src/platform/resource-kinds.js';
import { serviceManifest } from '../helpers/manifests.js';
import { runCli, startServer, type RunningServer } from '../helpers/opspilot-process.js';
import { waitFor } from '../helpers/wait-for.js';

const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));
let workspace: string;
let server: RunningServer;
let manifest: string;

function cli(args: readonly string[], input?: string) {
  return runCli(args, { server: server.url, ...(input === undefined ? {} : { input }), cwd: workspace });
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-cli-'));
  // Replicas run as their own unprivileged user (docs/runtime.md): they must reach the app folder in here.
  chmodSync(workspace, 0o755);
  mkdirSync(join(workspace, 'app'));
  copyFileSync(fixture, join(workspace, 'app', 'server.mjs'));
  server = await startServer({ dataDir: join(workspace, 'data') });
  manifest = join(workspace, 'echo.yaml');
  const text = serviceManifest({
    command: process.execPath,
    args: ['server.mjs'],
    cwd: './app',
    replicas: 1,
  }).replace(
    '  port: { env: PORT, healthPath: /healthz }\n',
    `  port: { env: PORT, healthPath: /healthz }\n  build: { command: ${JSON.stringify(process.execPath)}, args: [-e, "console.log('building ' + process.env.GIT_SHA)"] }\n`,
  );
  writeFileSync(manifest, text);
  expect((await cli(['apply', '-f', manifest])).code).toBe(0);
  await waitFor(
    () => cli(['get', 'binding', 'echo-dev', '-o', 'json']),
    (result) =>
      (JSON.parse(result.stdout) as Resource<unknown, EnvironmentStatus>).status?.phase === 'Running',
    { what: 'echo-dev Running', timeoutMs: 20_000 },
  );
});

afterAll(async () => {
  await server.stop();
  rmSync(workspace, { recursive: true, force: true });
});

describe('opspilot CLI', () => {
  it('describes a component with its replicas, resource usage and events', async () => {
    await waitFor(
      () => cli(['describe', 'component', 'echo']),
      (result) =>
        /echo-dev-\w+\s+echo-1\s+Running\s+yes\s+\d+\s+\d+\s+0\s+\d+m\s+[\d.]+MiB/.test(result.stdout),
      { what: 'a replica row with cpu and memory' },
    );
    const result = await cli(['describe', 'component', 'echo']);
    expect(result.stdout).toContain('Environment:');
    expect(result.stdout).toContain('1/1 ready');
    expect(result.stdout).toMatch(/Endpoint:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(result.stdout).toContain('Events (oldest first):');
    expect(result.stdout).toContain('ReleaseCreated');
  });

  it('shows the node with what the workloads request', async () => {
    const result = await cli(['get', 'nodes']);
    expect(result.code, result.stderr).toBe(0);
    // echo-dev requests 100m and 64Mi for its one replica.
    expect(result.stdout).toMatch(
      new RegExp(`^${hostname()}\\s+local\\s+${availableParallelism() * 1000}m\\s+100m \\(\\d+%\\)`, 'm'),
    );
    expect(result.stdout).toContain('64.0MiB');
  });

  it('prints replica output with the replica name', async () => {
    const result = await cli(['logs', 'echo', '-e', 'dev', '--tail', '5']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\[echo-dev-\w+\] listening on \d+$/m);
    const missing = await cli(['logs', 'echo', '-e', 'prod']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not bound to environment prod');
    expect(missing.stderr).toContain('It is bound to: dev');
  });

  it('builds a component, streams the output and rolls the new release out', async () => {
    const result = await cli(['build', 'echo', '-p', 'GIT_SHA=abc123']);
    expect(result.stderr).toMatch(/echo-build-\w+: Succeeded \(created release echo-2\)/);
    expect(result.stdout).toContain('[build] building abc123');
    expect(result.code).toBe(0);
    await waitFor(
      () => cli(['get', 'binding', 'echo-dev', '-o', 'json']),
      (output) => {
        const status = (JSON.parse(output.stdout) as Resource<unknown, EnvironmentStatus>).status;
        return status?.phase === 'Running' && status.release === 'echo-2';
      },
      { what: 'rollout of the built release' },
    );
    const runs = await cli(['get', 'runs']);
    expect(runs.stdout).toMatch(/echo-build-\w+\s+echo\s+Succeeded\s+echo-2/);
    const run = /(echo-build-\w+)/.exec(runs.stdout)?.[1] ?? '';
    expect((await cli(['logs', '--run', run])).stdout).toContain('[build] building abc123');
  });

  it('round-trips get -o yaml through apply and validates with --dry-run', async () => {
    const yaml = await cli(['get', 'component', 'echo', '-o', 'yaml']);
    const again = await cli(['apply', '-f', '-'], yaml.stdout);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe('component/echo unchanged\n');
    const dry = await cli(['apply', '-f', manifest, '--dry-run']);
    expect(dry.stdout).toContain('(dry run)');
  });

  it('deletes what a file declares', async () => {
    const result = await cli(['delete', '-f', manifest]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('releasebinding/echo-dev deleted');
    expect(result.stdout).toContain('component/echo deleted');
    expect((await cli(['get', 'components'])).stderr).toContain('No components found in namespace default.');
    expect((await cli(['delete', 'component', 'echo'])).code).toBe(1);
    expect((await cli(['delete', 'component', 'echo', '--ignore-not-found'])).code).toBe(0);
  });

  it('prints the effective configuration with secrets masked', async () => {
    const result = await runCli(['config', 'print', '-o', 'json', '--port', '7999'], { cwd: workspace });
    const printed = JSON.parse(result.stdout) as { server: { port: number }; dataDir: string };
    expect(printed.server.port).toBe(7999);
    expect(printed.dataDir).toBe(join(workspace, '.opspilot'));
    writeFileSync(
      join(workspace, 'opspilot.yaml'),
      'state: { url: "postgres://u:hunter2@db/x" }\nserver: { porrt: 1 }\n',
    );
    const invalid = await runCli(['config', 'print'], { cwd: workspace });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('porrt');
    writeFileSync(join(workspace, 'opspilot.yaml'), 'state: { url: "postgres://u:hunter2@db/x" }\n');
    const masked = await runCli(['config', 'print'], { cwd: workspace });
    expect(masked.stdout).toContain('postgres://u:***@db/x');
    expect(masked.stdout).not.toContain('hunter2');
    rmSync(join(workspace, 'opspilot.yaml'));
  });

  it('explains usage mistakes with exit code 2', async () => {
    const help = await cli(['get', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const format = await cli(['get', 'components', '-o', 'xml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("unknown output format 'xml'");
  });
});
