// RCA report notifications over real HTTP to local servers that stand in for Slack's incoming webhooks,
// PagerDuty's Events API v2 and a generic webhook (none of those services can be reached from here). The
// servers answer as the real ones do (Slack: 200 "ok"; PagerDuty: 202 with status/dedup_key).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpNotifier } from '../../src/adapters/notify/http-notifier.js';
import { loadConfig, redactConfig } from '../../src/config/load-config.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RcaReportView } from '../../src/rca/contracts.js';
import type { InvalidError } from '../../src/core/errors.js';

interface Received {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

const servers: Server[] = [];

async function listen(
  answer: (count: number) => [number, string],
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: JSON.parse(text) as Record<string, unknown> });
      const [status, reply] = answer(received.length);
      response.writeHead(status, { 'content-type': 'text/plain' }).end(reply);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const report: RcaReportView = {
  id: 'rca-0123456789ab',
  namespace: 'shop',
  status: 'completed',
  trigger: 'alert',
  requestedBy: 'rca-agent',
  alert: {
    fingerprint: 'f1',
    rule: 'AlertRule/frontend-errors',
    component: 'frontend',
    environment: 'prod',
    severity: 'critical',
    summary: 'error_rate of frontend in prod is 90 % (> 20 % over 1m)',
    startedAt: '2026-11-21T10:00:00.000Z',
  },
  groupKey: 'shop/frontend-errors/prod',
  createdAt: '2026-11-21T10:00:05.000Z',
  completedAt: '2026-11-21T10:00:06.000Z',
  durationMs: 1000,
  window: null,
  rootCauses: [
    {
      service: 'product-catalog',
      score: 0.82,
      kind: 'scaled-to-zero',
      explains: ['frontend'],
      evidence: [
        {
          source: 'event',
          metric: 'ScaledToZero',
          unit: '',
          summary: 'product-catalog@prod: Scaled product-catalog-prod from 2 to 0 replicas',
          z: 0,
          change: 0,
          baseline: { median: 0, scale: 0, samples: 0 },
          peak: { at: '2026-11-21T09:59:00.000Z', value: 1 },
          unexplained: 1,
          query: 'opspilot get events -n shop --component product-catalog',
        },
      ],
    },
  ],
  excluded: [],
  timeline: [],
  noRootCause: null,
  recommendations: [],
  traces: null,
  remediation: {
    proposal: 'p-1',
    title: 'scale product-catalog in prod from 0 to 2 replicas',
    status: 'pending',
  },
  alternatives: [],
  narrative: 'Most likely cause: product-catalog (scaled-to-zero, confidence 82%).',
  llm: { used: false, model: null, inputTokens: 0, outputTokens: 0, costUsd: 0, note: null },
  error: null,
};

/** A notifier from an opspilot.yaml holding these notification settings, read like any config file. */
function notifier(notifications: Record<string, unknown>): HttpNotifier {
  const dir = mkdtempSync(join(tmpdir(), 'opspilot-notify-'));
  try {
    writeFileSync(
      join(dir, 'opspilot.yaml'),
      stringify({ notifications: { timeoutMs: 2000, ...notifications } }),
    );
    const config = loadConfig({ env: {}, cwd: dir });
    return new HttpNotifier({
      config: config.notifications,
      baseUrl: () => 'http://opspilot.test:7400',
      logger: pino({ level: 'silent' }),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('RCA report notifications', () => {
  it('posts Block Kit to Slack and an Events API v2 trigger to PagerDuty, deduplicated per alert group', async () => {
    const slack = await listen(() => [200, 'ok']);
    const pagerduty = await listen(() => [
      202,
      '{"status":"success","message":"Event processed","dedup_key":"x"}',
    ]);
    const sender = notifier({
      channels: [
        { name: 'oncall-slack', type: 'slack', webhookUrl: `${slack.url}/services/T000/B000/XXXX` },
        {
          name: 'pd',
          type: 'pagerduty',
          webhookUrl: `${pagerduty.url}/v2/enqueue`,
          routingKey: 'R0UT1NGKEY',
        },
      ],
    });
    sender.reportFinished(report);
    await sender.drain();

    expect(slack.received).toHaveLength(1);
    const message = slack.received[0]?.body as {
      text: string;
      blocks: { type: string; elements?: { url?: string }[] }[];
    };
    expect(message.text).toBe(
      'AlertRule/frontend-errors on frontend in prod: most likely product-catalog (scaled-to-zero, 82%)',
    );
    expect(message.blocks.map((block) => block.type)).toEqual([
      'header',
      'section',
      'section',
      'section',
      'section',
      'actions',
      'context',
    ]);
    expect(
      message.blocks.find((block) => block.type === 'actions')?.elements?.map((element) => element.url),
    ).toEqual([
      'http://opspilot.test:7400/api/v1/rca/reports/rca-0123456789ab',
      'http://opspilot.test:7400/api/v1/proposals/p-1',
    ]);

    expect(pagerduty.received[0]?.path).toBe('/v2/enqueue');
    expect(pagerduty.received[0]?.body).toMatchObject({
      routing_key: 'R0UT1NGKEY',
      event_action: 'trigger',
      dedup_key: 'opspilot/shop/frontend-errors/prod',
      payload: {
        severity: 'critical',
        source: 'opspilot/shop',
        component: 'product-catalog',
        class: 'scaled-to-zero',
      },
    });
  });

  it('retries a failing webhook with backoff, gives up on one that keeps failing, and never throws', async () => {
    const flaky = await listen((count) => (count < 3 ? [503, 'busy'] : [200, '{}']));
    const broken = await listen(() => [500, 'down']);
    const sender = notifier({
      channels: [
        { name: 'flaky', type: 'webhook', webhookUrl: `${flaky.url}/hook` },
        { name: 'broken', type: 'webhook', webhookUrl: `${broken.url}/hook` },
      ],
    });
    sender.reportFinished(report);
    await sender.drain();
    expect(flaky.received).toHaveLength(3);
    expect(flaky.received[2]?.body).toMatchObject({
      kind: 'rca.report',
      status: 'completed',
      report: { id: report.id },
    });
    expect(broken.received).toHaveLength(3);
  });

  it('sends only to channels of the report namespace and severity', async () => {
    const hook = await listen(() => [200, '{}']);
    const sender = notifier({
      channels: [
        { name: 'bank-only', type: 'webhook', webhookUrl: `${hook.url}/bank`, namespaces: ['bank'] },
        { name: 'critical', type: 'webhook', webhookUrl: `${hook.url}/critical`, minSeverity: 'critical' },
      ],
    });
    sender.reportFinished(report);
    sender.reportFinished({ ...report, alert: { ...report.alert, severity: 'warning' } });
    await sender.drain();
    expect(hook.received.map((item) => item.path)).toEqual(['/critical']);
  });

  it('refuses channels that cannot be delivered to, and masks their secrets when printed', () => {
    const issues = (channels: unknown[]) => {
      try {
        notifier({ channels });
      } catch (error) {
        return JSON.stringify((error as InvalidError).issues);
      }
      return 'no error';
    };
    expect(issues([{ name: 's', type: 'slack' }])).toContain('a slack channel needs webhookUrl');
    expect(issues([{ name: 'p', type: 'pagerduty' }])).toContain('a pagerduty channel needs routingKey');
    const dir = mkdtempSync(join(tmpdir(), 'opspilot-notify-'));
    try {
      writeFileSync(
        join(dir, 'opspilot.yaml'),
        stringify({
          notifications: {
            channels: [
              { name: 'pd', type: 'pagerduty', routingKey: 'R0UT1NGKEY' },
              { name: 'slack', type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T/B/SECRET' },
            ],
          },
        }),
      );
      const printed = JSON.stringify(redactConfig(loadConfig({ env: {}, cwd: dir })));
      expect(printed).not.toContain('R0UT1NGKEY');
      expect(printed).not.toContain('SECRET');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
