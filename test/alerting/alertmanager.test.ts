// A real Prometheus and Alertmanager (Debian packages prometheus, prometheus-alertmanager; .ci/run installs
// them): a Prometheus alerting rule fires, Alertmanager calls opspilot's webhook, and the alert is in the history.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inheritedEnvironment, loadConfig } from '../../src/config/load-config.js';
import { createOpspilot, type Opspilot } from '../../src/server/opspilot-server.js';
import { freePort } from '../helpers/opspilot-process.js';
import { waitFor } from '../helpers/wait-for.js';

let workspace: string;
let opspilot: Opspilot;
const processes: ChildProcess[] = [];

function requireBinary(name: string): void {
  if (spawnSync('which', [name]).status !== 0) {
    throw new Error(
      `${name} is not installed: install the Debian packages prometheus and prometheus-alertmanager (.ci/run does)`,
    );
  }
}

function run(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-4000);
  });
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${command} exited with ${code}:\n${errors}\n`);
  });
  processes.push(child);
  return child;
}

beforeAll(async () => {
  requireBinary('prometheus');
  requireBinary('prometheus-alertmanager');
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-alertmanager-'));
  opspilot = await createOpspilot({
    config: loadConfig({
      env: {},
      cwd: workspace,
      overrides: { dataDir: join(workspace, 'data'), port: 0, otlpPort: 0 },
    }),
    logger: pino({ level: 'silent' }),
    baseEnv: inheritedEnvironment(),
  });
  const api = await opspilot.start();
  // Alertmanager authenticates like any client: a service token that may post alerts.
  const { token } = await opspilot.governance.tokens.issue({
    subject: 'alertmanager',
    kind: 'service',
    grants: [{ role: 'sre-agent', scope: { namespace: '*' } }],
  });

  const alertmanagerPort = await freePort();
  writeFileSync(
    join(workspace, 'alertmanager.yml'),
    `route:
  receiver: opspilot
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: opspilot
    webhook_configs:
      - url: ${api}/api/v1/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: ${token}
`,
  );
  run('prometheus-alertmanager', [
    `--config.file=${join(workspace, 'alertmanager.yml')}`,
    `--storage.path=${join(workspace, 'alertmanager')}`,
    `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
    '--cluster.listen-address=',
  ]);

  writeFileSync(
    join(workspace, 'rules.yml'),
    `groups:
  - name: opspilot-test
    interval: 1s
    rules:
      - alert: CheckoutDown
        expr: vector(1)
        labels: { severity: critical, namespace: shop, service: checkout, environment: prod, trigger_ai_rca: "true" }
        annotations: { summary: "checkout is down (synthetic)" }
`,
  );
  writeFileSync(
    join(workspace, 'prometheus.yml'),
    `global: { evaluation_interval: 1s, scrape_interval: 15s }
rule_files: [${JSON.stringify(join(workspace, 'rules.yml'))}]
alerting:
  alertmanagers:
    - static_configs: [{ targets: ["127.0.0.1:${alertmanagerPort}"] }]
`,
  );
  run('prometheus', [
    `--config.file=${join(workspace, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(workspace, 'prometheus')}`,
    `--web.listen-address=127.0.0.1:${await freePort()}`,
    // The first notification is dropped while Prometheus still discovers the Alertmanager; resend soon.
    '--rules.alert.resend-delay=1s',
  ]);
}, 60_000);

afterAll(async () => {
  for (const child of processes) child.kill('SIGKILL');
  await opspilot.stop();
  rmSync(workspace, { recursive: true, force: true });
});

describe('Prometheus and Alertmanager into opspilot', () => {
  it('records the alert Alertmanager sends to the webhook', async () => {
    const [alert] = await waitFor(
      () => opspilot.alerts.list({ namespace: 'shop', state: 'firing' }),
      (list) => list.length > 0,
      { what: 'the alert from Alertmanager', timeoutMs: 45_000, intervalMs: 500 },
    );
    expect(alert).toMatchObject({
      source: 'alertmanager',
      rule: 'CheckoutDown',
      component: 'checkout',
      environment: 'prod',
      severity: 'critical',
      summary: 'checkout is down (synthetic)',
      triggerAiRca: true,
    });
    expect(alert?.annotations.generatorURL).toContain('http');
    const history = await opspilot.alerts.history({ namespace: 'shop' });
    expect(history.map((event) => [event.rule, event.state])).toContainEqual(['CheckoutDown', 'firing']);
    const audit = await opspilot.governance.audit.list({ principal: 'alertmanager' });
    expect(audit[0]).toMatchObject({ action: 'alerts.ingest', decision: 'allow', edge: 'rest' });
  });
});
