// The governance commands as people use them against a real `opspilot up`: a production change waits for
// approval, its author cannot approve it, a second person (token from `opspilot token create`) can; the audit
// chain verifies; and `opspilot mcp` serves MCP on stdio to the SDK client (both spec revisions).
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceManifest } from '../helpers/manifests.js';
import { cliPath, runCli, startServer, type RunningServer } from '../helpers/opspilot-process.js';
import { waitFor } from '../helpers/wait-for.js';

const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));
let workspace: string;
let dataDir: string;
let server: RunningServer;
// The kill -9 test scales one binding three times in a row; the 300 s cooldown would deny the second.
const serverEnv = { OPSPILOT_GOVERNANCE__GUARDRAILS__COOLDOWN_SECONDS: '0' };

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-governance-cli-'));
  // Replicas run as their own unprivileged user (docs/runtime.md): they must reach the app folder in here.
  chmodSync(workspace, 0o755);
  mkdirSync(join(workspace, 'app'));
  copyFileSync(fixture, join(workspace, 'app', 'server.mjs'));
  dataDir = join(workspace, 'data');
  server = await startServer({ dataDir, env: serverEnv });
}, 60_000);

afterAll(async () => {
  await server.stop();
  rmSync(workspace, { recursive: true, force: true });
});

async function token(subject: string, role: string): Promise<string> {
  const result = await runCli([
    'token',
    'create',
    '--subject',
    subject,
    '--role',
    role,
    '--namespace',
    'default',
    '--data-dir',
    dataDir,
    '--ttl',
    '1h',
  ]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe('governance from the command line', () => {
  it('queues a production change, refuses its author, and runs it when someone else approves', async () => {
    const manifest = join(workspace, 'echo-prod.yaml');
    writeFileSync(
      manifest,
      serviceManifest({ command: process.execPath, args: ['server.mjs'], cwd: './app', replicas: 2 })
        .replace('echo-dev', 'echo-prod')
        .replace('environment: dev', 'environment: prod'),
    );
    const alice = await token('alice', 'operator');
    const applied = await runCli(['apply', '-f', manifest], {
      server: server.url,
      env: { OPSPILOT_TOKEN: alice },
    });
    expect(applied.code, applied.stderr).toBe(0);
    const id = /proposal (\S+) waits for approval/.exec(applied.stdout)?.[1];
    expect(id, applied.stdout).toBeDefined();
    expect(applied.stdout).toContain(`opspilot proposals approve ${id ?? ''}`);

    const listed = await runCli(['proposals', 'list', '--status', 'pending'], {
      server: server.url,
      env: { OPSPILOT_TOKEN: alice },
    });
    expect(listed.stdout).toContain(id ?? '?');
    const shown = await runCli(['proposals', 'show', id ?? ''], {
      server: server.url,
      env: { OPSPILOT_TOKEN: alice },
    });
    expect(shown.stdout).toContain('needs_approval production');

    const own = await runCli(['proposals', 'approve', id ?? ''], {
      server: server.url,
      env: { OPSPILOT_TOKEN: alice },
    });
    expect(own.code).toBe(1);
    expect(own.stderr).toContain('nobody decides on their own proposal');
    const viewer = await runCli(['proposals', 'approve', id ?? ''], {
      server: server.url,
      env: { OPSPILOT_TOKEN: await token('val', 'viewer') },
    });
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toContain('no role that allows proposal.approve');

    const bob = await token('bob', 'operator');
    const approved = await runCli(['proposals', 'approve', id ?? '', '-m', 'checked'], {
      server: server.url,
      env: { OPSPILOT_TOKEN: bob },
    });
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/proposal \S+ (verifying|succeeded)/);
    await waitFor(
      async () => {
        const printed = JSON.parse(
          (await runCli(['get', 'bindings', '-o', 'json'], { server: server.url })).stdout,
        ) as {
          items: { metadata: { name: string }; status?: { readyReplicas?: number } }[];
        };
        return printed.items;
      },
      (bindings) =>
        bindings.some(
          (binding) => binding.metadata.name === 'echo-prod' && binding.status?.readyReplicas === 2,
        ),
      { what: 'two ready replicas in prod', timeoutMs: 30_000 },
    );

    const verify = await runCli(['audit', 'verify'], { server: server.url });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^audit chain ok: \d+ records/);
    const tail = await runCli(['audit', 'tail', '--principal', 'bob'], { server: server.url });
    expect(tail.stdout).toContain('proposal.approve');
    const unauthenticated = await runCli(['get', 'components'], {
      server: server.url,
      env: { OPSPILOT_TOKEN: 'not-a-token' },
    });
    expect(unauthenticated.code).toBe(1);
    expect(unauthenticated.stderr).toContain('not a JWT');
  });

  it.each(['legacy', 'modern'] as const)('serves MCP on stdio to a %s client', async (era) => {
    const client = new Client(
      { name: 'stdio-test', version: '1.0.0' },
      era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
    );
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [cliPath, 'mcp', '--server', 'control-plane'],
        env: {
          PATH: process.env.PATH ?? '',
          OPSPILOT_SERVER: server.url,
          OPSPILOT_TOKEN: await token(`stdio-${era}`, 'viewer'),
        },
        stderr: 'pipe',
      }),
    );
    expect(client.getProtocolEra()).toBe(era);
    const tools = await client.listTools({}, { cacheMode: 'refresh' });
    expect(tools.tools.map((tool) => tool.name)).toContain('get_component_status');
    expect(tools.tools.map((tool) => tool.name)).not.toContain('scale_component');
    const result = await client.callTool({ name: 'list_components', arguments: { namespace: 'default' } });
    expect(result.isError).not.toBe(true);
    expect(
      (result.structuredContent as { items: { name: string }[] }).items.map((item) => item.name),
    ).toContain('echo');
    await client.close();
  });

  it('neither loses nor repeats an approved action when the server is killed with SIGKILL around the approval', async () => {
    const alice = await token('alice', 'operator');
    const bob = await token('bob', 'operator');
    for (const [index, delayMs] of [0, 5, 25].entries()) {
      const replicas = 3 + index;
      const scaled = await fetch(`${server.url}/api/v1/namespaces/default/components/echo/scale`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
        body: JSON.stringify({ environment: 'prod', replicas }),
      });
      expect(scaled.status, await scaled.clone().text()).toBe(202);
      const { proposal } = (await scaled.json()) as { proposal: { id: string } };
      // Approve, and kill the server while (or just after) it handles the approval.
      const approval = fetch(`${server.url}/api/v1/proposals/${proposal.id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
        body: '{}',
      }).then(
        (response) => response.status,
        () => 'no answer' as const,
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await server.stop('SIGKILL');
      const answered = await approval;
      // Back on the same address: built-in tokens name the server's URL as their issuer (docs/governance.md).
      server = await startServer({ dataDir, env: serverEnv, args: ['--port', new URL(server.url).port] });
      const admin = { authorization: `Bearer ${server.token}` };
      const read = async () =>
        (await (await fetch(`${server.url}/api/v1/proposals/${proposal.id}`, { headers: admin })).json()) as {
          status: string;
          execution: { attempts: number };
        };
      const first = await read();
      if (first.status === 'pending') {
        // Killed before the approval committed: the approval was never acknowledged, so nothing was accepted.
        expect(answered).toBe('no answer');
        const retried = await fetch(`${server.url}/api/v1/proposals/${proposal.id}/approve`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
          body: '{}',
        });
        expect(retried.status).toBe(200);
      }
      const done = await waitFor(read, (value) => value.status === 'succeeded', {
        what: `proposal ${proposal.id} to succeed after the restart`,
        timeoutMs: 40_000,
      });
      expect(done.execution.attempts).toBeLessThanOrEqual(2);
      const audit = (await (
        await fetch(`${server.url}/api/v1/audit?principal=system:opspilot&limit=1000`, { headers: admin })
      ).json()) as { items: { result: string; details: { proposal?: string } }[] };
      const executed = audit.items.filter(
        (record) => record.result === 'executed' && record.details.proposal === proposal.id,
      );
      expect(executed, `delay ${delayMs} ms`).toHaveLength(1);
      await waitFor(
        async () =>
          (await (
            await fetch(`${server.url}/api/v1/namespaces/default/components/echo/status`, { headers: admin })
          ).json()) as {
            environments: { environment: string; readyReplicas: number; desiredReplicas: number }[];
          },
        (status) =>
          status.environments.some(
            (item) =>
              item.environment === 'prod' &&
              item.desiredReplicas === replicas &&
              item.readyReplicas === replicas,
          ),
        { what: `${replicas} ready replicas in prod`, timeoutMs: 40_000 },
      );
    }
    const verify = await runCli(['audit', 'verify'], { server: server.url });
    expect(verify.code, verify.stdout).toBe(0);
  }, 240_000);
});
