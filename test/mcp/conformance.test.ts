// The official MCP conformance suite (@modelcontextprotocol/conformance) and the official Inspector CLI
// against a real opspilot, for both spec revisions. Both tools need Node 22: test/conformance holds them and
// the `node` package (a Node 22 binary from the npm registry); .ci/run installs it with
// `npm ci --prefix test/conformance`. The suite sends no Authorization header, so it talks to opspilot
// through a small proxy in this test that adds a valid bearer token (authentication is tested elsewhere);
// the Inspector sends the header itself.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inheritedEnvironment, loadConfig } from '../../src/config/load-config.js';
import { createOpspilot, type Opspilot } from '../../src/server/opspilot-server.js';

const tools = fileURLToPath(new URL('../conformance/node_modules/', import.meta.url));
const node22 = join(tools, 'node', 'bin', 'node');
const conformance = join(tools, '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const inspector = join(
  tools,
  '@modelcontextprotocol',
  'inspector',
  'clients',
  'launcher',
  'build',
  'index.js',
);
const expectedFailures = fileURLToPath(new URL('expected-failures.yml', import.meta.url));

let workspace: string;
let opspilot: Opspilot;
let url: string;
let token: string;
let proxy: Server;
let proxied: string;

function run(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: { ...process.env, HOME: workspace, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  for (const file of [node22, conformance, inspector]) {
    if (!existsSync(file))
      throw new Error(`${file} is missing: run npm ci --prefix test/conformance (.ci/run does)`);
  }
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-conformance-'));
  const config = loadConfig({
    env: {},
    cwd: workspace,
    overrides: { dataDir: join(workspace, 'data'), port: 0, otlpPort: 0 },
  });
  opspilot = await createOpspilot({
    config,
    logger: pino({ level: 'silent' }),
    baseEnv: inheritedEnvironment(),
  });
  url = await opspilot.start();
  token = (await opspilot.adminToken()).token;
  const target = new URL(url);
  proxy = createServer((incoming, outgoing) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: incoming.url,
        method: incoming.method,
        headers: { ...incoming.headers, authorization: `Bearer ${token}` },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  proxied = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}, 60_000);

afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await opspilot.stop();
  rmSync(workspace, { recursive: true, force: true });
});

const scenarios: [string, string, 'control-plane' | 'observability'][] = [
  ['2025-11-25', 'server-initialize', 'control-plane'],
  ['2025-11-25', 'ping', 'control-plane'],
  ['2025-11-25', 'tools-list', 'control-plane'],
  ['2025-11-25', 'resources-list', 'observability'],
  ['2025-11-25', 'prompts-list', 'observability'],
  ['2025-11-25', 'dns-rebinding-protection', 'observability'],
  ['2026-07-28', 'tools-list', 'control-plane'],
  ['2026-07-28', 'resources-list', 'observability'],
  ['2026-07-28', 'prompts-list', 'observability'],
  ['2026-07-28', 'caching', 'observability'],
  ['2026-07-28', 'dns-rebinding-protection', 'control-plane'],
  ['2026-07-28', 'http-header-validation', 'control-plane'],
  ['2026-07-28', 'server-stateless', 'control-plane'],
];

describe('official MCP conformance suite', () => {
  it.each(scenarios)(
    'spec %s, scenario %s (%s)',
    async (version, scenario, server) => {
      const result = await run(node22, [
        conformance,
        'server',
        '--url',
        `${proxied}/mcp/${server}`,
        '--scenario',
        scenario,
        '--spec-version',
        version,
        '--expected-failures',
        expectedFailures,
      ]);
      const passed = /Passed: (\d+)\/(\d+)/.exec(result.output);
      expect(passed, result.output).not.toBeNull();
      expect(Number(passed?.[2]), 'checks run').toBeGreaterThan(0);
      expect(result.code, result.output).toBe(0);
    },
    120_000,
  );
});

describe('official MCP Inspector CLI', () => {
  it.each(['legacy', 'modern'])(
    'lists and calls tools over Streamable HTTP (%s era)',
    async (era) => {
      const common = [
        '--transport',
        'http',
        '--protocol-era',
        era,
        '--header',
        `Authorization: Bearer ${token}`,
        '--format',
        'json',
        '-q',
      ];
      const listed = await run(node22, [
        inspector,
        '--cli',
        `${url}/mcp/control-plane`,
        ...common,
        '--method',
        'tools/list',
      ]);
      expect(listed.code, listed.output).toBe(0);
      const names = (JSON.parse(listed.output) as { result: { tools: { name: string }[] } }).result.tools.map(
        (tool) => tool.name,
      );
      expect(names).toEqual(
        expect.arrayContaining(['get_component_status', 'scale_component', 'get_audit_events']),
      );
      const called = await run(node22, [
        inspector,
        '--cli',
        `${url}/mcp/control-plane`,
        ...common,
        '--method',
        'tools/call',
        '--tool-name',
        'list_environments',
        '--tool-args-json',
        '{}',
      ]);
      expect(called.code, called.output).toBe(0);
      const result = (
        JSON.parse(called.output) as { result: { structuredContent: { items: { name: string }[] } } }
      ).result;
      expect(result.structuredContent.items.map((item) => item.name)).toEqual(['dev', 'prod', 'staging']);
      const refused = await run(node22, [
        inspector,
        '--cli',
        `${url}/mcp/control-plane`,
        '--transport',
        'http',
        '--protocol-era',
        era,
        '--method',
        'tools/list',
        '--format',
        'json',
        '-q',
      ]);
      expect(refused.code, refused.output).not.toBe(0);
    },
    120_000,
  );
});
