// The MCP edge's refusals, against a real in-process server with the SDK client: calls of hidden and unknown
// tools and with invalid arguments are JSON-RPC errors with one audit record each; a confirmation works once and
// only for the resource version it was shown; the audience and the issuer come from configuration and the
// listen address, never from the Host header; deeply nested bodies are refused.
import {
  Client,
  ProtocolError,
  StreamableHTTPClientTransport,
  specTypeSchemas,
  withInputRequired,
} from '@modelcontextprotocol/client';
import { request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { Proposal } from '../../src/governance/proposals/contracts.js';
import type { Role } from '../../src/governance/principal.js';
import type { AuditRecord } from '../../src/state/ports.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { runCli } from '../helpers/opspilot-process.js';
import { waitFor } from '../helpers/wait-for.js';

let server: InProcessServer;

async function token(subject: string, role: Role, options: { audience?: string } = {}): Promise<string> {
  return (
    await server.opspilot.governance.tokens.issue({
      subject,
      grants: [{ role, scope: { namespace: 'shop' } }],
      ...options,
    })
  ).token;
}

type Era = 'modern' | 'legacy';

/** An SDK client; `statuses` collects the HTTP status of every response it got. */
async function connect(
  name: 'control-plane' | 'observability',
  bearer: string,
  options: { era?: Era; manual?: boolean; statuses?: number[] } = {},
): Promise<Client> {
  const client = new Client(
    { name: 'edge-test', version: '1.0.0' },
    {
      ...(options.manual === true
        ? { capabilities: { elicitation: {} }, inputRequired: { autoFulfill: false } }
        : {}),
      ...(options.era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: '2026-07-28' } } }),
    },
  );
  const statuses = options.statuses;
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/${name}`), {
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
      ...(statuses === undefined
        ? {}
        : {
            fetch: async (input: string | URL | Request, init?: RequestInit) => {
              const response = await fetch(input, init);
              statuses.push(response.status);
              return response;
            },
          }),
    }),
  );
  return client;
}

async function deniedFor(subject: string): Promise<AuditRecord[]> {
  return server.opspilot.governance.audit.list({ principal: subject, decision: 'deny', limit: 100 });
}

beforeAll(async () => {
  server = await startInProcess({
    OPSPILOT_GOVERNANCE__GUARDRAILS__COOLDOWN_SECONDS: '0',
    OPSPILOT_RUNTIME__LOCAL__TERMINATION_GRACE_SECONDS: '1',
  });
  await server.opspilot.platform.apply([
    { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: 'shop' }, spec: {} },
    {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'Component',
      metadata: { name: 'worker', namespace: 'shop', project: 'shop' },
      spec: {
        type: 'worker',
        run: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
      },
    },
    {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'ReleaseBinding',
      metadata: { name: 'worker-dev', namespace: 'shop', project: 'shop' },
      spec: { component: 'worker', environment: 'dev', replicas: 1, state: 'Active' },
    },
    {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'ReleaseBinding',
      metadata: { name: 'worker-prod', namespace: 'shop', project: 'shop' },
      spec: { component: 'worker', environment: 'prod', replicas: 2, state: 'Active' },
    },
  ]);
}, 60_000);

afterAll(async () => {
  await server.close();
});

describe('MCP tool calls the caller may not make', () => {
  it.each<Era>(['modern', 'legacy'])(
    'answer a hidden tool with a JSON-RPC error and audit it (%s)',
    async (era) => {
      const subject = `hidden-${era}`;
      const statuses: number[] = [];
      const client = await connect('control-plane', await token(subject, 'viewer'), { era, statuses });
      const call = client.callTool({
        name: 'scale_component',
        arguments: { namespace: 'shop', component: 'worker', environment: 'dev', replicas: 2 },
      });
      await expect(call).rejects.toBeInstanceOf(ProtocolError);
      await expect(call).rejects.toMatchObject({ code: -32602 });
      await expect(call).rejects.toThrow(
        /scale_component not found among the tools you may call.*component\.scale/,
      );
      expect(statuses.at(-1)).toBe(200);
      await client.close();
      const denied = await deniedFor(subject);
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({
        edge: 'mcp',
        action: 'component.scale',
        namespace: 'shop',
        target: 'tools/call scale_component (mcp/control-plane)',
        result: 'hidden_tool',
      });
    },
  );

  it.each<Era>(['modern', 'legacy'])(
    'answer an unknown tool with a JSON-RPC error in HTTP 200 and audit it (%s)',
    async (era) => {
      const subject = `unknown-${era}`;
      const statuses: number[] = [];
      const client = await connect('control-plane', await token(subject, 'operator'), { era, statuses });
      const call = client.callTool({ name: 'drop_database', arguments: { namespace: 'shop' } });
      await expect(call).rejects.toMatchObject({ code: -32602 });
      await expect(call).rejects.toThrow(/unknown tool drop_database.*tools\/list/i);
      expect(statuses.at(-1)).toBe(200);
      await client.close();
      const denied = await deniedFor(subject);
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({
        edge: 'mcp',
        action: 'platform.read',
        target: 'tools/call drop_database (mcp/control-plane)',
        result: 'unknown_tool',
      });
    },
  );

  it.each<Era>(['modern', 'legacy'])(
    'answer invalid arguments with a JSON-RPC error and audit it (%s)',
    async (era) => {
      const subject = `invalid-${era}`;
      const client = await connect('control-plane', await token(subject, 'viewer'), { era });
      const call = client.callTool({
        name: 'get_component_status',
        arguments: { namespace: 'shop', component: 42 },
      });
      await expect(call).rejects.toMatchObject({ code: -32602 });
      await expect(call).rejects.toThrow(/get_component_status.*component/);
      await client.close();
      const denied = await deniedFor(subject);
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({
        edge: 'mcp',
        action: 'platform.read',
        namespace: 'shop',
        target: 'tools/call get_component_status (mcp/control-plane)',
        result: 'invalid_params',
      });
    },
  );
});

describe('MCP confirmations', () => {
  const accept = { inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } };
  type Answer = {
    resultType?: string;
    requestState?: string;
    isError?: boolean;
    content?: { text?: string }[];
    structuredContent?: { status: string; proposal: Proposal };
  };
  const scale = (
    client: Client,
    replicas: number,
    extra: Record<string, unknown> = {},
    environment = 'dev',
  ) =>
    client.request(
      {
        method: 'tools/call',
        params: {
          name: 'scale_component',
          arguments: { namespace: 'shop', component: 'worker', environment, replicas },
          ...extra,
        },
      },
      withInputRequired(specTypeSchemas.CallToolResult),
      { allowInputRequired: true },
    ) as Promise<Answer>;
  const setReplicas = async (replicas: number) => {
    const binding = await server.opspilot.platform.get('ReleaseBinding', 'shop', 'worker-dev');
    await server.opspilot.platform.apply([
      { ...binding, status: undefined, spec: { ...(binding.spec as object), replicas } },
    ]);
  };
  const proposalsBy = async (subject: string) =>
    (await server.opspilot.governance.proposals.list({ namespaces: ['shop'] })).filter(
      (proposal) => proposal.createdBy.subject === subject,
    );

  it('are used once: a replay while the first proposal waits for approval is refused and audited', async () => {
    const client = await connect('control-plane', await token('otto', 'operator'), { manual: true });
    const asked = await scale(client, 3, {}, 'prod');
    expect(asked.resultType).toBe('input_required');
    const confirmed = await scale(client, 3, { ...accept, requestState: asked.requestState }, 'prod');
    expect(confirmed.structuredContent?.status).toBe('pending');
    const replayed = await scale(client, 3, { ...accept, requestState: asked.requestState }, 'prod');
    expect(replayed.isError).toBe(true);
    expect(replayed.content?.[0]?.text).toMatch(/already used.*Call the tool again/);
    expect(await proposalsBy('otto')).toHaveLength(1);
    const denied = await deniedFor('otto');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ action: 'component.scale', result: 'confirmation_refused' });
    await client.close();
  });

  it('are refused and audited when replayed after the resource is back to its former state', async () => {
    const client = await connect('control-plane', await token('rita', 'developer'), { manual: true });
    const asked = await scale(client, 2);
    expect(asked.resultType).toBe('input_required');
    const confirmed = await scale(client, 2, { ...accept, requestState: asked.requestState });
    expect(['verifying', 'succeeded']).toContain(confirmed.structuredContent?.status);
    const id = confirmed.structuredContent?.proposal.id ?? '';
    await waitFor(
      () => server.opspilot.governance.proposals.get(id),
      (proposal) => proposal.status === 'succeeded',
      { what: 'the confirmed scale to succeed', timeoutMs: 30_000 },
    );
    await setReplicas(1);

    const replayed = await scale(client, 2, { ...accept, requestState: asked.requestState });
    expect(replayed.isError).toBe(true);
    expect(replayed.content?.[0]?.text).toContain('The resources changed after you were asked to confirm');
    expect(await proposalsBy('rita')).toHaveLength(1);
    const denied = await deniedFor('rita');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ action: 'component.scale', result: 'confirmation_refused' });
    await client.close();
  }, 60_000);

  it('are bound to the resource version they were shown: changed and changed back is refused and audited', async () => {
    const client = await connect('control-plane', await token('remy', 'developer'), { manual: true });
    const asked = await scale(client, 3);
    expect(asked.resultType).toBe('input_required');
    await setReplicas(4);
    await setReplicas(1);
    const stale = await scale(client, 3, { ...accept, requestState: asked.requestState });
    expect(stale.isError).toBe(true);
    expect(stale.content?.[0]?.text).toContain('The resources changed after you were asked to confirm');
    expect(await proposalsBy('remy')).toEqual([]);
    const denied = await deniedFor('remy');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ action: 'component.scale', result: 'confirmation_refused' });
    await client.close();
  });

  it('audit a requestState that does not verify', async () => {
    const client = await connect('control-plane', await token('tess', 'developer'), { manual: true });
    const asked = await scale(client, 2);
    const state = asked.requestState ?? '';
    await expect(scale(client, 2, { ...accept, requestState: `${state.slice(0, -2)}xx` })).rejects.toThrow(
      /requestState/,
    );
    const denied = await deniedFor('tess');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ action: 'component.scale', result: 'confirmation_refused' });
    await client.close();
  });
});

/** An HTTP request with the headers exactly as given (fetch does not let a caller set Host). */
function rawRequest(
  url: string,
  options: { method?: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers },
      (incoming) => {
        let body = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (body += chunk));
        incoming.on('end', () => {
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body });
        });
      },
    );
    outgoing.once('error', reject);
    outgoing.end(options.body);
  });
}

describe('the MCP audience and the issuer', () => {
  it('refuse a token for the resource URL of a spoofed Host', async () => {
    const spoofed = await token('mallory', 'viewer', { audience: 'http://evil.example/mcp/control-plane' });
    const response = await rawRequest(`${server.url}/mcp/control-plane`, {
      method: 'POST',
      headers: {
        host: 'evil.example',
        authorization: `Bearer ${spoofed}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toContain(
      `resource_metadata="${server.url}/.well-known/oauth-protected-resource/mcp/control-plane"`,
    );
    const denied = await server.opspilot.governance.audit.list({
      target: 'POST /mcp/control-plane',
      limit: 10,
    });
    expect(denied[0]).toMatchObject({ decision: 'deny', result: 'unauthenticated', edge: 'mcp' });
    expect(denied[0]?.reasons.join(' ')).toMatch(/aud/);

    const own = await token('mona', 'viewer', { audience: `${server.url}/mcp/control-plane` });
    const client = await connect('control-plane', own);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
  });

  it('refuse a valid token sent to a foreign Host (DNS rebinding) with a JSON-RPC error, audited', async () => {
    const response = await rawRequest(`${server.url}/mcp/control-plane`, {
      method: 'POST',
      headers: {
        host: 'evil.example',
        authorization: `Bearer ${await token('rebound', 'viewer')}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32000, message: expect.stringContaining('mcp.allowedHosts') as unknown },
    });
    const denied = await deniedFor('rebound');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ edge: 'mcp', result: 'invalid_request' });
  });

  it('name the port the server listens on, whatever the Host header says', async () => {
    const port = new URL(server.url).port;
    expect(port).not.toBe('7400');
    const spoofed = { headers: { host: 'localhost:1' } };
    const metadata = async (path: string): Promise<unknown> =>
      JSON.parse((await rawRequest(`${server.url}${path}`, spoofed)).body);
    const authorization = await metadata('/.well-known/oauth-authorization-server');
    expect(authorization).toMatchObject({
      issuer: server.url,
      token_endpoint: `${server.url}/oauth/token`,
      jwks_uri: `${server.url}/.well-known/jwks.json`,
    });
    const resource = await metadata('/.well-known/oauth-protected-resource/mcp/observability');
    expect(resource).toMatchObject({
      resource: `${server.url}/mcp/observability`,
      authorization_servers: [server.url],
      jwks_uri: `${server.url}/.well-known/jwks.json`,
    });
    const admin = await server.opspilot.adminToken();
    expect(decodeJwt(admin.token).iss).toBe(server.url);
  });

  it('is the issuer of `opspilot token create` run beside the server, which the server accepts', async () => {
    const created = await runCli([
      'token',
      'create',
      '--subject',
      'tina',
      '--role',
      'viewer',
      '--namespace',
      'shop',
      '--data-dir',
      join(server.workspace, 'data'),
    ]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(decodeJwt(token).iss).toBe(server.url);
    const whoami = await fetch(`${server.url}/api/v1/auth/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(whoami.status).toBe(200);
  }, 30_000);
});

describe('server.publicUrl', () => {
  it('names the MCP resources, the metadata and the issuer, and is the MCP audience', async () => {
    const proxied = await startInProcess(
      {},
      { configYaml: 'server:\n  publicUrl: https://ops.example.com/\n' },
    );
    try {
      const resource: unknown = await (
        await fetch(`${proxied.url}/.well-known/oauth-protected-resource/mcp/control-plane`)
      ).json();
      expect(resource).toMatchObject({
        resource: 'https://ops.example.com/mcp/control-plane',
        authorization_servers: ['https://ops.example.com'],
        jwks_uri: 'https://ops.example.com/.well-known/jwks.json',
      });
      const authorization: unknown = await (
        await fetch(`${proxied.url}/.well-known/oauth-authorization-server`)
      ).json();
      expect(authorization).toMatchObject({
        issuer: 'https://ops.example.com',
        token_endpoint: 'https://ops.example.com/oauth/token',
      });
      const { tokens } = proxied.opspilot.governance;
      const admin = await proxied.opspilot.adminToken();
      expect(decodeJwt(admin.token).iss).toBe('https://ops.example.com');

      const call = (bearer?: string) =>
        fetch(`${proxied.url}/mcp/control-plane`, {
          method: 'POST',
          headers: {
            ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
        });
      const refused = await call();
      expect(refused.headers.get('www-authenticate')).toContain(
        'resource_metadata="https://ops.example.com/.well-known/oauth-protected-resource/mcp/control-plane"',
      );
      const grants = [{ role: 'viewer' as const, scope: { namespace: 'shop' } }];
      const forResource = await tokens.issue({
        subject: 'pia',
        grants,
        audience: 'https://ops.example.com/mcp/control-plane',
      });
      expect((await call(forResource.token)).status).toBe(200);
      const forListenAddress = await tokens.issue({
        subject: 'pia',
        grants,
        audience: `${proxied.url}/mcp/control-plane`,
      });
      expect((await call(forListenAddress.token)).status).toBe(401);
    } finally {
      await proxied.close();
    }
  });

  it('must be an origin', () => {
    for (const wrong of ['ops.example.com', 'ftp://ops.example.com', 'https://ops.example.com/opspilot']) {
      expect(() => loadConfig({ env: { OPSPILOT_SERVER__PUBLIC_URL: wrong } }), wrong).toThrow(
        expect.objectContaining({
          issues: [expect.objectContaining({ path: expect.stringContaining('server.publicUrl') as unknown })],
        }),
      );
    }
  });
});

describe('deeply nested bodies', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('get 400 problem+json on REST', async () => {
    const admin = (await server.opspilot.adminToken()).token;
    const response = await fetch(`${server.url}/api/v1/apply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: `{"documents": ${nested(100_000)}}`,
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const body = (await response.json()) as { detail: string; hint?: string };
    expect(body.detail).toMatch(/nested/);
    expect(body.hint).toBeDefined();
  });

  it('get 400 with a JSON-RPC error on MCP, audited', async () => {
    const bearer = await token('nesta', 'viewer');
    const response = await fetch(`${server.url}/mcp/control-plane`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_components","arguments":{"namespace":${nested(100_000)}}}}`,
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      jsonrpc: string;
      id: unknown;
      error: { code: number; message: string };
    };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    expect(body.error.message).toMatch(/nested/);
    const denied = await deniedFor('nesta');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ edge: 'mcp', result: 'invalid_request' });
  });
});
