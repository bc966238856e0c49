// Tokens on the OTLP receiver (otlp.auth: required): a real server, real HTTP, OTLP/JSON bodies as an
// OpenTelemetry SDK or Collector sends them.
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpAudience } from '../../src/governance/governance.js';
import type { Opspilot } from '../../src/server/opspilot-server.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { waitFor } from '../helpers/wait-for.js';

let server: InProcessServer;
let opspilot: Opspilot;
let otlp: string;

beforeAll(async () => {
  server = await startInProcess({ OPSPILOT_OTLP__AUTH: 'required' });
  opspilot = server.opspilot;
  otlp = opspilot.telemetry.otlpEndpoint ?? '';
}, 30_000);

afterAll(async () => {
  await server.close();
});

const logs = (...namespaces: string[]) => ({
  resourceLogs: namespaces.map((namespace) => ({
    resource: {
      attributes: [
        { key: 'service.name', value: { stringValue: 'payments' } },
        { key: 'opspilot.namespace', value: { stringValue: namespace } },
      ],
    },
    scopeLogs: [
      {
        logRecords: [
          { timeUnixNano: `${Date.now()}000000`, body: { stringValue: `hello from ${namespace}` } },
        ],
      },
    ],
  })),
});

const send = (body: unknown, token?: string) =>
  fetch(`${otlp}/v1/logs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });

const issue = async (audience?: string) =>
  (
    await opspilot.governance.tokens.issue({
      subject: 'collector',
      kind: 'service',
      grants: [{ role: 'viewer', scope: { namespace: 'shop' } }],
      ...(audience === undefined ? {} : { audience }),
    })
  ).token;

describe('OTLP receiver with otlp.auth: required', () => {
  it('refuses senders without a token, or with an API token, and audits the refusal', async () => {
    const anonymous = await send(logs('shop'));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(((await anonymous.json()) as { message: string }).message).toContain('--audience otlp');
    // A token for the API and MCP is not a token for ingest.
    const apiToken = await send(logs('shop'), await issue());
    expect(apiToken.status).toBe(401);
    const denials = await opspilot.governance.audit.list({ action: 'telemetry.ingest', limit: 10 });
    expect(denials.map((record) => [record.edge, record.decision, record.result])).toEqual([
      ['otlp', 'deny', 'unauthenticated'],
      ['otlp', 'deny', 'unauthenticated'],
    ]);
  });

  it("stores what the token may write and rejects other namespaces' records as a partial success", async () => {
    const response = await send(logs('shop', 'bank'), await issue(otlpAudience));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      partialSuccess: {
        rejectedLogRecords: '1',
        errorMessage: expect.stringContaining('may not write telemetry of namespace bank') as string,
      },
    });
    const stored = await waitFor(
      () => opspilot.telemetry.queries.logs({ namespace: 'shop', period: 'last_15m', limit: 10, context: 0 }),
      (result) => result.entries.length > 0,
      { what: 'the shop log' },
    );
    expect(stored.entries.map((entry) => entry.body)).toEqual(['hello from shop']);
    const bank = await opspilot.telemetry.queries.logs({
      namespace: 'bank',
      period: 'last_15m',
      limit: 10,
      context: 0,
    });
    expect(bank.entries).toEqual([]);
  });
});

// otlp.auth: auto (the default) trusts this machine only: the same receiver, listening on every interface, asks a
// token of a peer that reaches it through a non-loopback address.
const external = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry !== undefined && !entry.internal && entry.family === 'IPv4')?.address;

describe.skipIf(external === undefined)('OTLP receiver with otlp.auth: auto', () => {
  let everywhere: InProcessServer;

  beforeAll(async () => {
    everywhere = await startInProcess({ OPSPILOT_OTLP__HOST: '0.0.0.0' });
  }, 30_000);

  afterAll(async () => {
    await everywhere.close();
  });

  it('accepts loopback senders without a token and asks one of the others', async () => {
    const port = new URL(everywhere.opspilot.telemetry.otlpEndpoint ?? '').port;
    const post = (host: string) =>
      fetch(`http://${host}:${port}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(logs('shop')),
      });
    expect((await post('127.0.0.1')).status).toBe(200);
    expect((await post(external ?? '')).status).toBe(401);
  });
});
