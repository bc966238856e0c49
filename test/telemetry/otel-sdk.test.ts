// Acceptance of the telemetry plane with a real OpenTelemetry JS SDK: a service run by opspilot's local runtime
// exports spans, metrics and logs over OTLP/HTTP protobuf with the endpoint and identity the runtime injected;
// every query then finds them, and the replica's stdout line is found by its trace id.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inheritedEnvironment, loadConfig } from '../../src/config/load-config.js';
import type { EnvironmentStatus } from '../../src/platform/contracts.js';
import { createOpspilot, type Opspilot } from '../../src/server/opspilot-server.js';
import { yamlDocuments } from '../helpers/manifests.js';
import { httpGet, waitFor } from '../helpers/wait-for.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
let workspace: string;
let opspilot: Opspilot;
let endpoint: string;
const traceIds: { ok: string; failed: string } = { ok: '', failed: '' };

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-otel-'));
  const config = loadConfig({
    cwd: workspace,
    env: { OPSPILOT_TELEMETRY__REPLICA_METRIC_INTERVAL_MS: '500' },
    overrides: { dataDir: join(workspace, 'data'), port: 0, otlpPort: 0 },
  });
  opspilot = await createOpspilot({
    config,
    logger: pino({ level: 'silent' }),
    baseEnv: inheritedEnvironment(),
  });
  await opspilot.start();
  await opspilot.platform.apply(
    yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: orders, project: shop }
spec:
  run: { command: ${JSON.stringify(process.execPath)}, args: [otel-service.mjs], cwd: ${JSON.stringify(fixtures)} }
  port: { env: PORT, healthPath: /healthz }
---
apiVersion: opspilot.dev/v1alpha1
kind: ReleaseBinding
metadata: { name: orders-dev }
spec: { component: orders, environment: dev, replicas: 1, resources: { requests: { cpu: 100m, memory: 64Mi }, limits: { memory: 256Mi } } }
`),
  );
  const status = await waitFor(
    () => opspilot.platform.get('ReleaseBinding', 'default', 'orders-dev'),
    (binding) => (binding.status as EnvironmentStatus).phase === 'Running',
    { what: 'orders Running', timeoutMs: 30_000 },
  );
  endpoint = (status.status as EnvironmentStatus).endpoint ?? '';
  traceIds.ok = (JSON.parse((await httpGet(`${endpoint}/work?ms=30`)).body) as { traceId: string }).traceId;
  traceIds.failed = (
    JSON.parse((await httpGet(`${endpoint}/work?fail=1&ms=10`)).body) as { traceId: string }
  ).traceId;
}, 60_000);

afterAll(async () => {
  await opspilot.stop();
  rmSync(workspace, { recursive: true, force: true });
});

const scope = { namespace: 'default', component: 'orders', limit: 100, context: 0 } as const;

describe('telemetry from a real OpenTelemetry SDK', () => {
  it('stores spans as a trace with its critical path and finds it by search', async () => {
    const trace = await waitFor(
      () => opspilot.telemetry.queries.trace(traceIds.ok, 'default'),
      (value) => value.spanCount === 2,
      { what: 'both spans of the trace' },
    );
    expect(trace.roots).toHaveLength(1);
    const root = trace.roots[0];
    expect(root).toMatchObject({
      name: 'GET /work',
      kind: 'SERVER',
      service: 'orders',
      component: 'orders',
      onCriticalPath: true,
    });
    expect(root?.children[0]).toMatchObject({ name: 'SELECT items', kind: 'CLIENT', onCriticalPath: true });
    expect(root?.children[0]?.durationMs).toBeGreaterThanOrEqual(25);
    expect(trace.criticalPath.map((step) => step.name)).toEqual(['GET /work', 'SELECT items']);

    // The failed request's spans may come in a later export batch than the first trace's.
    const failed = await waitFor(
      () => opspilot.telemetry.queries.traces({ ...scope, status: 'error', limit: 10 }),
      (result) => result.traces.length > 0,
      { what: 'the failed trace' },
    );
    expect(failed.traces.map((summary) => summary.traceId)).toEqual([traceIds.failed]);
    expect(failed.traces[0]).toMatchObject({
      rootService: 'orders',
      rootName: 'GET /work',
      spanCount: 2,
      errorCount: 1,
    });
  });

  it('stores OTel log records and the replica stdout line, both found by trace id', async () => {
    const result = await waitFor(
      () => opspilot.telemetry.queries.logs({ ...scope, traceId: traceIds.failed }),
      (value) => value.entries.length >= 2,
      { what: 'the OTel log record and the stdout line of the failed request' },
    );
    const scopes = result.entries.map((entry) => entry.scope);
    expect(scopes).toContain('otel-service');
    expect(scopes).toContain('opspilot.runtime');
    const stdout = result.entries.find((entry) => entry.scope === 'opspilot.runtime');
    expect(stdout).toMatchObject({
      body: 'handled /work with status 500',
      severity: 'ERROR',
      component: 'orders',
      environment: 'dev',
    });
    expect(stdout?.replica).toMatch(/^orders-dev-\w+$/);
    expect(stdout?.attributes['log.iostream']).toBe('stdout');
    const record = result.entries.find((entry) => entry.scope === 'otel-service');
    expect(record?.replica).toBe(stdout?.replica); // service.instance.id=$(OPSPILOT_REPLICA) was expanded

    const errors = await opspilot.telemetry.queries.errorSummary({
      ...scope,
      minSeverity: 'ERROR',
      limit: 10,
      buckets: 6,
    });
    expect(errors.templates.map((template) => template.template)).toContain(
      'inventory lookup failed for order <*>',
    );
    expect(
      errors.templates.find((template) => template.template.startsWith('inventory'))?.traceIds,
    ).toContain(traceIds.failed);
  });

  it('stores metrics and derives request rate, error rate and latency from server spans', async () => {
    const counter = await waitFor(
      () =>
        opspilot.telemetry.queries
          .metrics({
            ...scope,
            metric: 'work.requests',
            aggregation: 'sum',
            period: 'last_5m',
            step: '5m',
            groupBy: 'component',
          })
          .catch(() => undefined),
      (value) =>
        value !== undefined && value.series[0]?.points.some((point) => (point.value ?? 0) >= 1) === true,
      { what: 'the work.requests counter', timeoutMs: 20_000 },
    );
    expect(counter?.aggregation).toBe('sum');
    const histogram = await opspilot.telemetry.queries.metrics({
      ...scope,
      metric: 'work.duration',
      period: 'last_5m',
      step: '5m',
      groupBy: 'component',
    });
    expect(histogram.aggregation).toBe('p95');
    expect(histogram.series[0]?.points.some((point) => point.value !== null)).toBe(true);

    const errorRate = await opspilot.telemetry.queries.metrics({
      ...scope,
      metric: 'error_rate',
      period: 'last_5m',
      step: '5m',
      groupBy: 'component',
    });
    expect(errorRate.series[0]?.points.at(-1)?.value).toBeCloseTo(0.5, 5);
    const latency = await opspilot.telemetry.queries.metrics({
      ...scope,
      metric: 'latency_p95',
      period: 'last_5m',
      step: '5m',
      groupBy: 'component',
    });
    expect(latency.series[0]?.points.at(-1)?.value).toBeGreaterThan(10);

    const memory = await waitFor(
      () =>
        opspilot.telemetry.queries.metrics({
          ...scope,
          metric: 'memory',
          period: 'last_5m',
          step: '5m',
          groupBy: 'replica',
        }),
      (value) => value.series.length === 1 && (value.series[0]?.points.at(-1)?.value ?? 0) > 10 * 2 ** 20,
      { what: 'replica memory samples' },
    );
    expect(memory.series[0]?.labels.component).toBe('orders');
  });

  it('draws the dependency graph and compares usage with requests and limits', async () => {
    const graph = await opspilot.telemetry.queries.dependencies({ namespace: 'default', period: 'last_15m' });
    expect(graph.nodes.find((node) => node.service === 'orders')).toMatchObject({
      kind: 'service',
      errorRate: 0.5,
    });
    expect(graph.nodes.find((node) => node.service === 'inventory-db')).toMatchObject({ kind: 'external' });
    expect(graph.edges).toEqual([expect.objectContaining({ from: 'orders', to: 'inventory-db', calls: 2 })]);

    const usage = await opspilot.telemetry.queries.resourceUsage({
      namespace: 'default',
      component: 'orders',
      period: 'last_15m',
    });
    expect(usage.bindings).toEqual([
      expect.objectContaining({
        component: 'orders',
        environment: 'dev',
        binding: 'orders-dev',
        cpu: expect.objectContaining({ requestMillicores: 100 }) as unknown,
        memory: expect.objectContaining({ limitBytes: 256 * 2 ** 20 }) as unknown,
      }),
    ]);
    expect(usage.bindings[0]?.memory.maxBytes).toBeGreaterThan(0);
  });
});
