// The LLM is optional and never in the way: narratives and chat through an OpenAI-compatible endpoint and
// through Anthropic's Messages API, and reports that still complete when the endpoint fails or hangs. No hosted
// model can be reached from here, so a local HTTP server answers in those APIs' wire formats (the JSON bodies,
// server-sent events and usage fields the real services send).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/governance/principal.js';
import { adminPrincipal } from '../helpers/principals.js';
import type { RcaReportView } from '../../src/rca/contracts.js';
import type { Opspilot } from '../../src/server/opspilot-server.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import type { AlertView } from '../../src/telemetry/alerting/contracts.js';
import { runCli } from '../helpers/opspilot-process.js';

/** `tools`: the chat answer first calls query_logs, then answers once the tool result comes back. */
type Mode = 'ok' | 'fail' | 'hang' | 'tools';

interface FakeLlm {
  url: string;
  mode: Mode;
  requests: { path: string; body: Record<string, unknown> }[];
  server: Server;
}

const narrative = 'Frontend errors rose at onset; nothing in the telemetry explains them yet.';
const chunks = ['Nothing ', 'changed ', 'before the alert.'];

function openAiChunk(delta: Record<string, unknown>, finish: string | null) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1763720000,
    model: 'test-model',
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

function answer(
  fake: FakeLlm,
  request: IncomingMessage,
  response: ServerResponse,
  body: Record<string, unknown>,
) {
  if (fake.mode === 'hang') return; // never answers
  if (fake.mode === 'fail') {
    response
      .writeHead(500, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } }));
    return;
  }
  const streaming = body.stream === true;
  if (request.url?.endsWith('/chat/completions')) {
    if (!streaming) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1763720000,
          model: 'test-model',
          choices: [{ index: 0, message: { role: 'assistant', content: narrative }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1200, completion_tokens: 40, total_tokens: 1240 },
        }),
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const messages = body.messages as { role: string }[];
    if (fake.mode === 'tools' && !messages.some((message) => message.role === 'tool')) {
      // A tool call as OpenAI streams it: id and name first, the arguments in pieces, finish_reason tool_calls.
      const call = (fn: Record<string, unknown>, first: boolean) =>
        openAiChunk(
          {
            ...(first ? { role: 'assistant', content: null } : {}),
            tool_calls: [{ index: 0, ...(first ? { id: 'call_1', type: 'function' } : {}), function: fn }],
          },
          null,
        );
      response.write(`data: ${JSON.stringify(call({ name: 'query_logs', arguments: '' }, true))}\n\n`);
      for (const piece of ['{"component":"front', 'end","minSeverity":"ERROR",', '"period":"last_1h"}'])
        response.write(`data: ${JSON.stringify(call({ arguments: piece }, false))}\n\n`);
      response.write(`data: ${JSON.stringify(openAiChunk({}, 'tool_calls'))}\n\n`);
      response.write(
        `data: ${JSON.stringify({ ...openAiChunk({}, null), choices: [], usage: { prompt_tokens: 1000, completion_tokens: 20, total_tokens: 1020 } })}\n\n`,
      );
      response.end('data: [DONE]\n\n');
      return;
    }
    response.write(`data: ${JSON.stringify(openAiChunk({ role: 'assistant', content: '' }, null))}\n\n`);
    for (const text of chunks)
      response.write(`data: ${JSON.stringify(openAiChunk({ content: text }, null))}\n\n`);
    response.write(`data: ${JSON.stringify(openAiChunk({}, 'stop'))}\n\n`);
    response.write(
      `data: ${JSON.stringify({ ...openAiChunk({}, null), choices: [], usage: { prompt_tokens: 900, completion_tokens: 7, total_tokens: 907 } })}\n\n`,
    );
    response.end('data: [DONE]\n\n');
    return;
  }
  // Anthropic Messages API
  response.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      id: 'msg_01',
      type: 'message',
      role: 'assistant',
      model: 'claude-test',
      content: [{ type: 'text', text: narrative }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 1500, output_tokens: 42 },
    }),
  );
}

async function fakeLlm(): Promise<FakeLlm> {
  const fake: FakeLlm = { url: '', mode: 'ok', requests: [], server: createServer() };
  fake.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      fake.requests.push({ path: request.url ?? '', body });
      answer(fake, request, response, body);
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}/v1`;
  return fake;
}

/** A server with the namespace the alerts below belong to. */
async function startShop(env: Record<string, string> = {}): Promise<InProcessServer> {
  const server = await startInProcess(env);
  await server.opspilot.platform.apply([
    { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: 'shop' }, spec: {} },
  ]);
  return server;
}

const admin: Caller = { principal: adminPrincipal, edge: 'rest', client: 'vitest' };

async function fireAlert(opspilot: Opspilot): Promise<AlertView> {
  const services = opspilot.governance.forCaller(admin);
  await services.receiveAlertmanager({
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: {
          alertname: 'FrontendErrors',
          namespace: 'shop',
          component: 'frontend',
          environment: 'dev',
          severity: 'critical',
        },
        annotations: { summary: 'frontend answers 5xx' },
        startsAt: new Date(Date.now() - 60_000).toISOString(),
      },
    ],
  });
  const [alert] = await services.alerts({ namespace: 'shop' });
  if (alert === undefined) throw new Error('no alert');
  return alert;
}

async function chat(url: string, token: string, id: string, message: string) {
  const response = await fetch(`${url}/api/v1/rca/reports/${id}/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const events = (await response.text())
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.+)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? 'null') as Record<string, unknown>;
      return { event, data };
    });
  return events;
}

describe('with an OpenAI-compatible endpoint', () => {
  let fake: FakeLlm;
  let server: InProcessServer;
  let opspilot: Opspilot;
  let url: string;

  beforeAll(async () => {
    fake = await fakeLlm();
    server = await startShop({
      OPSPILOT_LLM__PROVIDER: 'openai-compatible',
      OPSPILOT_LLM__BASE_URL: fake.url,
      OPSPILOT_LLM__MODEL: 'test-model',
      OPSPILOT_LLM__API_KEY: 'sk-test',
      OPSPILOT_LLM__TIMEOUT_MS: '800',
      OPSPILOT_LLM__INPUT_PRICE_PER_MILLION: '3',
      OPSPILOT_LLM__OUTPUT_PRICE_PER_MILLION: '15',
    });
    ({ opspilot, url } = server);
  }, 30_000);

  afterAll(async () => {
    await server.close();
    fake.server.closeAllConnections();
    await new Promise((resolve) => fake.server.close(resolve));
  });

  it('writes the narrative, grounded in the report, and records tokens and cost', async () => {
    fake.mode = 'ok';
    const report = await opspilot.rcaAgent.investigate(admin, await fireAlert(opspilot), 'manual');
    expect(report.status).toBe('completed');
    expect(report.narrative).toBe(narrative);
    expect(report.llm).toMatchObject({
      used: true,
      model: 'test-model',
      inputTokens: 1200,
      outputTokens: 40,
      note: null,
    });
    expect(report.llm.costUsd).toBeCloseTo((1200 * 3 + 40 * 15) / 1e6, 10);
    const sent = fake.requests.at(-1);
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(JSON.stringify(sent?.body)).toContain(report.id);
  });

  it('completes the report with the deterministic narrative when the endpoint fails or hangs', async () => {
    for (const mode of ['fail', 'hang'] as const) {
      fake.mode = mode;
      const started = Date.now();
      const report = await opspilot.rcaAgent.investigate(admin, await fireAlert(opspilot), 'manual');
      expect(report.status, mode).toBe('completed');
      expect(report.narrative, mode).toContain('FrontendErrors fired for frontend in dev');
      expect(report.llm.used, mode).toBe(false);
      expect(report.llm.note, mode).toMatch(/^deterministic narrative: the LLM failed/);
      // The hang costs the timeout (0.8 s) and no more.
      expect(Date.now() - started, mode).toBeLessThan(10_000);
    }
  }, 30_000);

  it('streams chat answers over server-sent events and adds their usage to the report', async () => {
    fake.mode = 'ok';
    const report = (
      await opspilot.governance.forCaller(admin).rcaReports({ namespace: 'shop' })
    )[0] as RcaReportView;
    const token = (await opspilot.adminToken()).token;
    const events = await chat(url, token, report.id, 'what changed?');
    expect(events.filter((item) => item.event === 'delta').map((item) => item.data.text)).toEqual(chunks);
    expect(events.at(-1)).toMatchObject({
      event: 'done',
      data: { source: 'llm', usage: { inputTokens: 900, outputTokens: 7 } },
    });
    const after = await opspilot.governance.forCaller(admin).rcaReport(report.id);
    expect(after.llm.inputTokens).toBe(report.llm.inputTokens + 900);

    fake.mode = 'fail';
    const fallback = await chat(url, token, report.id, 'what should I do?');
    expect(fallback[0]?.data.text).toContain('What to do:');
    expect(fallback.at(-1)).toMatchObject({ event: 'done', data: { source: 'report' } });

    fake.mode = 'ok';
    const cli = await runCli(['rca', 'chat', report.id, 'what', 'changed'], {
      server: url,
      env: { OPSPILOT_TOKEN: token },
    });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toBe(`${chunks.join('')}\n`);
    expect(cli.stderr).toMatch(/900 \+ 7 tokens, \$0\.0028/);
  }, 30_000);

  it('looks things up as the person asking, in the report namespace only, and answers with what it found', async () => {
    const report = await opspilot.rcaAgent.investigate(admin, await fireAlert(opspilot), 'manual');
    // An error the report does not hold, in frontend's log.
    const logs = await fetch(`${opspilot.telemetry.otlpEndpoint ?? ''}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'frontend' } },
                { key: 'opspilot.namespace', value: { stringValue: 'shop' } },
                { key: 'opspilot.component', value: { stringValue: 'frontend' } },
                { key: 'opspilot.environment', value: { stringValue: 'dev' } },
              ],
            },
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: `${BigInt(Date.now() - 30_000) * 1_000_000n}`,
                    severityNumber: 17,
                    severityText: 'ERROR',
                    body: { stringValue: 'payment gateway timed out after 3000 ms' },
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(logs.status).toBe(200);

    fake.mode = 'tools';
    const token = (await opspilot.adminToken()).token;
    const events = await chat(url, token, report.id, 'what did frontend log?');
    expect(events.find((item) => item.event === 'tool')).toMatchObject({
      event: 'tool',
      data: { name: 'query_logs', input: { component: 'frontend', minSeverity: 'ERROR', period: 'last_1h' } },
    });
    expect(events.filter((item) => item.event === 'delta').map((item) => item.data.text)).toEqual(chunks);
    // Both steps are paid for.
    expect(events.at(-1)).toMatchObject({
      event: 'done',
      data: { source: 'llm', usage: { inputTokens: 1900, outputTokens: 27 } },
    });

    // The model was offered the reads (never a write, never a namespace) and got the log line back.
    const [first, second] = fake.requests.slice(-2);
    const offered = (
      first?.body.tools as { function: { name: string; parameters: { properties: object } } }[]
    ).map((item) => item.function);
    expect(offered.map((item) => item.name).sort()).toEqual([
      'get_component_status',
      'get_error_summary',
      'get_events',
      'query_logs',
      'query_metrics',
      'query_trace_spans',
      'query_traces',
    ]);
    for (const item of offered) expect(Object.keys(item.parameters.properties)).not.toContain('namespace');
    const toolMessage = (second?.body.messages as { role: string; content: string }[]).find(
      (message) => message.role === 'tool',
    );
    expect(toolMessage?.content).toContain('payment gateway timed out after 3000 ms');

    // The read is the asking person's, authorized and audited as theirs.
    const records = await opspilot.governance.audit.list({ action: 'telemetry.read', namespace: 'shop' });
    expect(records.find((record) => record.target.includes('frontend'))).toMatchObject({
      principal: 'admin',
      edge: 'rest',
      decision: 'allow',
    });
  }, 30_000);
});

describe('with Anthropic', () => {
  let fake: FakeLlm;
  let server: InProcessServer;
  let opspilot: Opspilot;

  beforeAll(async () => {
    fake = await fakeLlm();
    server = await startShop({
      OPSPILOT_LLM__PROVIDER: 'anthropic',
      OPSPILOT_LLM__BASE_URL: fake.url,
      OPSPILOT_LLM__MODEL: 'claude-test',
      OPSPILOT_LLM__API_KEY: 'sk-ant-test',
    });
    ({ opspilot } = server);
  }, 30_000);

  afterAll(async () => {
    await server.close();
    await new Promise((resolve) => fake.server.close(resolve));
  });

  it('writes the narrative through the Messages API', async () => {
    const report = await opspilot.rcaAgent.investigate(admin, await fireAlert(opspilot), 'manual');
    expect(report.narrative).toBe(narrative);
    expect(report.llm).toMatchObject({
      used: true,
      model: 'claude-test',
      inputTokens: 1500,
      outputTokens: 42,
    });
    expect(fake.requests.at(-1)?.path).toBe('/v1/messages');
  });
});

describe('without an LLM', () => {
  let server: InProcessServer;
  let opspilot: Opspilot;
  let url: string;

  beforeAll(async () => {
    server = await startShop();
    ({ opspilot, url } = server);
  }, 30_000);

  afterAll(async () => {
    await server.close();
  });

  it('answers chat from the report', async () => {
    const report = await opspilot.rcaAgent.investigate(admin, await fireAlert(opspilot), 'manual');
    expect(report.llm).toMatchObject({ used: false, note: null });
    const token = (await opspilot.adminToken()).token;
    const events = await chat(url, token, report.id, 'why? what is the evidence');
    expect(events[0]?.data.text).toContain('No root cause was found');
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { source: 'report', usage: null } });
  });
});
