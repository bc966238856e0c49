// The composition root: builds every part from the frozen config and wires them together.
// createOpspilot() builds and never listens; start() adopts replicas, reconciles and then listens.
import { join } from 'node:path';
import { packageRoot } from './package-info.js';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createApi } from '../api/create-api.js';
import type { Config } from '../config/config-schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { UnavailableError } from '../core/errors.js';
import { ChangeFeed } from '../core/change-feed.js';
import type { AuditLog } from '../governance/audit/audit-log.js';
import { actionInfo } from '../governance/authz/actions.js';
import { parseScope } from '../governance/principal.js';
import { alertTopics, type AlertView } from '../telemetry/alerting/contracts.js';
import { InProcessEventBus, type EventBus } from '../core/event-bus.js';
import { AlertEvaluator } from '../telemetry/alerting/alert-evaluator.js';
import { RcaAgent } from '../agents/rca-agent.js';
import { DemoFaults } from '../demo/demo-faults.js';
import { demoChaosActor, rcaAgentActor } from '../governance/identity/system-actors.js';
import { installDemo, withDemoGuardrails } from './demo-install.js';
import { HttpNotifier } from '../adapters/notify/http-notifier.js';
import { createReportWriter } from '../adapters/llm/ai-sdk-writer.js';
import { RcaReportService } from '../rca/rca-report-service.js';
import { AlertService } from '../telemetry/alerting/alert-service.js';
import { dependencyNeighbours } from '../telemetry/alerting/dependency-neighbours.js';
import {
  defaultPlatformSignalSettings,
  platformSignalReasons,
} from '../telemetry/alerting/platform-signals.js';
import { randomIds, type IdGenerator } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { bootstrapPlatform } from '../platform/bootstrap.js';
import { RuntimeEventRecorder } from '../platform/event-recorder.js';
import { Housekeeping } from '../platform/housekeeping.js';
import { PlatformService } from '../platform/platform-service.js';
import { Reconciler } from '../platform/reconciler.js';
import { WorkflowRunner } from '../platform/workflow-runner.js';
import { LocalRuntime } from '../runtime/local/local-runtime.js';
import { createProcessTable } from '../runtime/local/process-table.js';
import { LocalStepExecutor } from '../runtime/local/step-executor.js';
import { openStateStore } from '../state/kysely-state-store.js';
import type { StateStore } from '../state/ports.js';
import { lockDataDir } from './data-dir-lock.js';
import { parseCpu, parseMemory } from '../core/quantity.js';
import type { ReleaseBindingSpec, Resource } from '../platform/resource-kinds.js';
import type { ResourceUsageQuery } from '../telemetry/query/contracts.js';
import type { BindingAllocation } from '../telemetry/query/telemetry-query-service.js';
import { TelemetryPlane } from '../telemetry/telemetry-plane.js';
import { version } from './package-info.js';
import { Governance } from '../governance/governance.js';
import type { IssuedToken } from '../governance/identity/token-service.js';
import { registerMcpRoutes } from '../mcp/mcp-http.js';
import { writeAdminToken } from './admin-token.js';

export interface OpspilotOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Variables every replica and build step inherits (PATH, HOME, …). */
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  /** Serve the demo shop's fault routes (`opspilot up --demo`); installDemo() applies the shop. */
  readonly demo?: boolean;
}

export interface Opspilot {
  readonly app: FastifyInstance;
  readonly platform: PlatformService;
  readonly runtime: LocalRuntime;
  readonly store: StateStore;
  readonly reconciler: Reconciler;
  readonly events: RuntimeEventRecorder;
  readonly telemetry: TelemetryPlane;
  readonly alerts: AlertService;
  readonly evaluator: AlertEvaluator;
  readonly bus: EventBus;
  readonly governance: Governance;
  readonly rcaAgent: RcaAgent;
  /** A platform-admin token for this server's operator (printed by `opspilot up`), when enabled. */
  adminToken(): Promise<IssuedToken>;
  /**
   * Applies demo/*.yaml (a bootstrap by the operator who asked for `--demo`, audited as demo:install) and, with
   * `waitMs`, waits that long for its bindings to run. Resolves with the bindings.
   */
  installDemo(waitMs: number): Promise<{ files: number; changed: number; bindings: Resource[] }>;
  /** Adopts or replaces what a previous run left, reconciles, then listens. Resolves with the API's URL. */
  start(): Promise<string>;
  /** Stops listening, stops every replica and closes the store. */
  stop(): Promise<void>;
}

export async function createOpspilot(options: OpspilotOptions): Promise<Opspilot> {
  const { logger } = options;
  const config = options.demo === true ? withDemoGuardrails(options.config) : options.config;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const processTable = createProcessTable();
  const lock = lockDataDir(config.dataDir, processTable);
  let store: StateStore & { location: string };
  try {
    store = await openStateStore({ url: config.state.url, dataDir: config.dataDir });
  } catch (error) {
    lock.release();
    throw error;
  }
  logger.debug({ state: store.location, dialect: store.dialect }, 'state store open');

  const events = new RuntimeEventRecorder(store, logger.child({ component: 'runtime' }));
  // The platform service is built below; the allocation source only runs at query time.
  const platformRef: { current?: PlatformService } = {};
  const governanceRef: { current?: Governance } = {};
  let telemetry: TelemetryPlane;
  try {
    telemetry = await TelemetryPlane.open({
      config,
      logger: logger.child({ component: 'telemetry' }),
      clock,
      allocations: (scope) => bindingAllocations(platformRef.current, scope),
    });
  } catch (error) {
    await store.close();
    lock.release();
    throw error;
  }
  const runtime = new LocalRuntime({
    dataDir: config.dataDir,
    config: config.runtime.local,
    listener: {
      event: (event) => {
        events.event(event);
        telemetry.runtime.event(event);
      },
      log: (line) => {
        telemetry.runtime.log(line);
      },
      sample: (sample) => {
        telemetry.runtime.sample(sample);
      },
    },
    baseEnv: options.baseEnv,
    clock,
    ids,
    processTable,
    onError: (error, context) => {
      logger.warn({ err: error }, context);
    },
  });
  const reconciler = new Reconciler({
    store,
    runtime,
    logger: logger.child({ component: 'reconciler' }),
    resyncIntervalMs: config.reconciler.resyncIntervalMs,
    injectEnv: (labels) => telemetry.replicaEnvironment(labels),
  });
  const workflows = new WorkflowRunner({
    store,
    executor: new LocalStepExecutor(options.baseEnv, processTable, clock, () => runtime.workloadIsolation()),
    clock,
    ids,
    logger: logger.child({ component: 'workflows' }),
    onChange: () => {
      reconciler.trigger();
    },
  });
  const platform = new PlatformService({
    store,
    runtime,
    clock,
    ids,
    onChange: () => {
      reconciler.trigger();
      workflows.trigger();
      // RoleBindings may have changed: the authorizer reloads them (cheap; a handful of resources).
      governanceRef.current?.syncRoleBindings().catch((error: unknown) => {
        logger.warn({ err: error }, 'reloading RoleBindings failed; authorization keeps the previous set');
      });
    },
  });
  const housekeeping = new Housekeeping({
    store,
    clock,
    logger: logger.child({ component: 'housekeeping' }),
    eventRetentionDays: config.events.retentionDays,
  });
  platformRef.current = platform;
  const bus = new InProcessEventBus((error, topic) => {
    logger.warn({ err: error, topic }, 'an event bus subscriber failed');
  });
  const alerts = new AlertService({
    store,
    bus,
    clock,
    neighbours: dependencyNeighbours(telemetry.queries),
  });
  const evaluator = new AlertEvaluator({
    rules: platform,
    queries: telemetry.queries,
    alerts,
    clock,
    logger: logger.child({ component: 'alerting' }),
    intervalMs: config.alerting.evaluationIntervalMs,
    platformSignals: {
      ...defaultPlatformSignalSettings,
      rolloutDeadlineMs: config.alerting.rolloutDeadlineMs,
    },
  });
  // A replica OOM-killed, backing off or failing is judged at once, not at the next evaluation.
  events.watch((event) => {
    if (platformSignalReasons.has(event.reason)) evaluator.trigger();
  });
  const rcaReports = new RcaReportService({ store, clock, ids });
  const changes = new ChangeFeed();
  const governance: Governance = await Governance.create({
    config,
    store,
    platform,
    telemetry: telemetry.queries,
    alerts,
    rcaReports,
    changes,
    clock,
    ids,
    logger: logger.child({ component: 'governance' }),
  });
  governanceRef.current = governance;
  feedChanges(changes, { bus, audit: governance.audit, events, clock });
  const addressRef: { current: string } = { current: '' };
  const writer = createReportWriter(config.llm);
  const rcaAgentToken = governance.actorToken(rcaAgentActor);
  const rcaAgent = new RcaAgent({
    gateway: governance.gateway,
    credentials: () => rcaAgentToken.authorization(),
    bus,
    clock,
    logger: logger.child({ component: 'rca-agent' }),
    writer,
    notifier: new HttpNotifier({
      config: config.notifications,
      baseUrl: () => addressRef.current,
      logger: logger.child({ component: 'notify' }),
    }),
  });
  const demoFolder = join(packageRoot, 'demo');
  const chaosToken = governance.actorToken(demoChaosActor('shop'));
  const app = await createApi({
    governance: governance.gateway,
    telemetry: true,
    otlpEndpoint: () => telemetry.otlpEndpoint,
    alerts: true,
    rca: rcaAgent,
    writer,
    demoFaults:
      options.demo === true
        ? new DemoFaults({
            gateway: governance.gateway,
            credentials: () => chaosToken.authorization(),
            root: demoFolder,
          })
        : undefined,
    dashboardRoot: join(packageRoot, 'dist', 'web'),
    logger: logger.child({ component: 'api' }),
    version,
    extraRoutes: (api) =>
      registerMcpRoutes(api, {
        governance: governance.gateway,
        config,
        version,
        logger: logger.child({ component: 'mcp' }),
      }),
  });

  let started = false;
  return {
    app,
    platform,
    runtime,
    store,
    reconciler,
    events,
    telemetry,
    alerts,
    evaluator,
    bus,
    governance,
    rcaAgent,
    async adminToken() {
      const issued = await governance.tokens.issue({
        subject: 'admin',
        grants: [{ role: 'platform-admin', scope: { namespace: '*' } }],
      });
      writeAdminToken(config.dataDir, issued.token);
      return issued;
    },
    installDemo: (waitMs) => installDemo({ platform, audit: governance.audit, folder: demoFolder, waitMs }),
    async start() {
      await bootstrapPlatform(platform);
      await workflows.recoverInterrupted();
      // Listen first: a taken port fails the start before any replica is touched.
      try {
        await app.listen({ host: config.server.host, port: config.server.port });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') throw error;
        throw new UnavailableError(`cannot listen on ${config.server.host}:${config.server.port} (${code})`, {
          hint: 'Another process uses that address: stop it, or pass --port / OPSPILOT_PORT.',
          cause: error,
        });
      }
      started = true;
      const address = app.server.address() as AddressInfo;
      addressRef.current = `http://${formatHost(address.address)}:${address.port}`;
      governance.tokens.listening(addressRef.current);
      const ingestAuth = config.otlp.auth;
      await telemetry.listen(
        ingestAuth === 'none'
          ? undefined
          : async (request) => {
              if (ingestAuth === 'auto' && isLoopback(request.remoteAddress)) return { namespaces: '*' };
              return { namespaces: await governance.ingestPermit(request.authorization, request.userAgent) };
            },
      );
      telemetry.startRetention();
      await runtime.start();
      await reconciler.start();
      workflows.start();
      housekeeping.start();
      governance.start();
      const interrupted = await rcaReports.failInterrupted();
      if (interrupted.length > 0) {
        logger.warn(
          { reports: interrupted.map((report) => report.id) },
          'RCA investigations interrupted by a stop were marked failed',
        );
      }
      rcaAgent.start();
      evaluator.start();
      return addressRef.current;
    },
    async stop() {
      await app.close();
      if (started) {
        // Builds first: a finishing build triggers the reconciler, which must still be there to ignore it.
        await housekeeping.stop();
        await evaluator.stop();
        await rcaAgent.stop();
        await governance.stop();
        await workflows.stop();
        await reconciler.stop();
        await runtime.shutdown();
        await events.flush();
      }
      await telemetry.close();
      await store.close();
      lock.release();
    },
  };
}

/** Requests and limits of the bindings in a scope, for resource usage queries. */
async function bindingAllocations(
  platform: PlatformService | undefined,
  scope: ResourceUsageQuery,
): Promise<BindingAllocation[]> {
  if (platform === undefined) return [];
  const bindings = await platform.list('ReleaseBinding', {
    namespace: scope.namespace,
    component: scope.component,
    environment: scope.environment,
  });
  return bindings.map((binding) => {
    const spec = binding.spec as ReleaseBindingSpec;
    const quantity = (
      text: string | undefined,
      parse: (value: string) => number | undefined,
    ): number | null => (text === undefined ? null : (parse(text) ?? null));
    return {
      component: spec.component,
      environment: spec.environment,
      binding: binding.metadata.name,
      cpuRequestMillis: quantity(spec.resources?.requests?.cpu, parseCpu),
      cpuLimitMillis: quantity(spec.resources?.limits?.cpu, parseCpu),
      memoryRequestBytes: quantity(spec.resources?.requests?.memory, parseMemory),
      memoryLimitBytes: quantity(spec.resources?.limits?.memory, parseMemory),
    };
  });
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** This machine: the local runtime's replicas and a local collector. */
function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** What the live views hear about: alerts, audited changes (not reads), runtime events. */
function feedChanges(
  changes: ChangeFeed,
  sources: { bus: EventBus; audit: AuditLog; events: RuntimeEventRecorder; clock: Clock },
): void {
  const now = () => sources.clock.now().toISOString();
  for (const topic of [alertTopics.firing, alertTopics.resolved]) {
    sources.bus.subscribe(topic, (event) => {
      // The alert service publishes its AlertView.
      const alert = event.payload as AlertView;
      changes.publish({
        topic: 'alert',
        namespace: alert.namespace,
        component: alert.component ?? undefined,
        environment: alert.environment ?? undefined,
        summary: `${alert.rule} ${alert.state}`,
        at: now(),
      });
    });
  }
  sources.audit.watch((record) => {
    const write = (actionInfo as Record<string, { write: boolean } | undefined>)[record.action]?.write;
    const report = record.action === 'rca.run';
    if (record.namespace === '' || (write !== true && !report)) return;
    // A target that does not parse counts as the whole namespace: only namespace-wide readers hear of it.
    const scope = parseScope(record.target);
    changes.publish({
      topic: report ? 'alert' : record.action.startsWith('proposal.') ? 'approval' : 'change',
      namespace: record.namespace,
      project: scope?.project,
      component: scope?.component,
      environment: scope?.environment,
      summary: `${record.action} ${record.target}: ${record.decision}`,
      at: record.at,
    });
  });
  sources.events.watch((event) => {
    changes.publish({
      topic: 'status',
      namespace: event.namespace,
      project: event.project,
      component: event.component,
      environment: event.environment,
      summary: event.reason,
      at: now(),
    });
  });
}
