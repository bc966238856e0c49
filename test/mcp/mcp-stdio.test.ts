// `opspilot mcp --server NAME` (the built CLI) with a token the server refuses: the SDK client's initialize is
// answered with a JSON-RPC error instead of waiting for its timeout, stdout carries nothing but JSON-RPC, and
// stderr says in one line what is wrong and what to do. A good token still connects.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { cliPath } from '../helpers/opspilot-process.js';

let server: InProcessServer;
/** A folder without a data dir, so that the relay finds no admin token of its own. */
let elsewhere: string;

beforeAll(async () => {
  server = await startInProcess();
  elsewhere = mkdtempSync(join(tmpdir(), 'opspilot-stdio-'));
});

afterAll(async () => {
  await server.close();
  rmSync(elsewhere, { recursive: true, force: true });
});

function environment(token: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('OPSPILOT_')) env[name] = value;
  }
  return { ...env, ...(token === undefined ? {} : { OPSPILOT_TOKEN: token }) };
}

/** Connects the SDK client through the relay; resolves with the connect error (if any) and the relay's stderr. */
async function connectThroughRelay(token: string | undefined): Promise<{ error: unknown; stderr: string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cliPath, 'mcp', '--server', 'control-plane', '--url', server.url],
    env: environment(token),
    cwd: elsewhere,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  // The SDK's default request timeout is 60 s: a relay that stays silent would fail this test with a timeout.
  const error = await client.connect(transport).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  await client.close();
  return { error, stderr };
}

describe('opspilot mcp (stdio)', () => {
  it.each([
    ['a wrong token', 'not-a-jwt', /the bearer token is not a JWT/],
    ['no token', undefined, /no bearer token was sent/],
  ])(
    'answers initialize with a JSON-RPC error for %s, and says what to do on stderr',
    async (_case, token, why) => {
      const { error, stderr } = await connectThroughRelay(token);
      expect(error).toMatchObject({ code: -32000 });
      expect((error as Error).message).toMatch(why);
      expect((error as Error).message).toContain('OPSPILOT_TOKEN');
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^opspilot mcp: .*refused the request \(HTTP 401\)/);
      expect(lines[0]).toMatch(why);
      expect(lines[0]).toContain('Set OPSPILOT_TOKEN');
    },
    30_000,
  );

  it('writes nothing but JSON-RPC on stdout', async () => {
    const child = spawn(
      process.execPath,
      [cliPath, 'mcp', '--server', 'observability', '--url', server.url],
      {
        env: environment('not-a-jwt'),
        cwd: elsewhere,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const requests = [
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'two', method: 'ping' },
    ];
    child.stdin.end(`${requests.map((request) => JSON.stringify(request)).join('\n')}\nnot json\n`);
    await exited;
    const messages = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { jsonrpc: string; id: unknown; error?: { code: number } });
    expect(messages.every((message) => message.jsonrpc === '2.0' && message.error !== undefined)).toBe(true);
    expect(messages.map((message) => message.id).sort()).toEqual([1, null, 'two'].sort());
  }, 30_000);

  it('connects with a good token', async () => {
    const token = (await server.opspilot.adminToken()).token;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cliPath, 'mcp', '--server', 'control-plane', '--url', server.url],
      env: environment(token),
      cwd: elsewhere,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    const listed = await client.listTools();
    expect(listed.tools.map((tool) => tool.name)).toContain('get_component_status');
    await client.close();
  }, 30_000);
});
