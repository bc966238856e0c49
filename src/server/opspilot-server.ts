// The composition root: builds every part from the frozen config and wires them together.
// createOpspilot() builds and never listens; start() adopts replicas, reconciles and then listens.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createApi } from '../api/create-api.js';
import type { Config } from '../config/config-schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { UnavailableError } from '../core/errors.js';
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
import { version } from './package-info.js';

export interface OpspilotOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Variables every replica and build step inherits (PATH, HOME, …). */
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
}

export interface Opspilot {
  readonly app: FastifyInstance;
  readonly platform: PlatformService;
  readonly runtime: LocalRuntime;
  readonly store: StateStore;
  readonly reconciler: Reconciler;
  readonly events: RuntimeEventRecorder;
  /** Adopts or replaces what a previous run left, reconciles, then listens. Resolves with the API's URL. */
  start(): Promise<string>;
  /** Stops listening, stops every replica and closes the store. */
  stop(): Promise<void>;
}

export async function createOpspilot(options: OpspilotOptions): Promise<Opspilot> {
  const { config, logger } = options;
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
  const runtime = new LocalRuntime({
    dataDir: config.dataDir,
    config: config.runtime.local,
    listener: events,
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
  });
  const workflows = new WorkflowRunner({
    store,
    executor: new LocalStepExecutor(options.baseEnv, processTable, clock),
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
    },
  });
  const housekeeping = new Housekeeping({
    store,
    clock,
    logger: logger.child({ component: 'housekeeping' }),
    eventRetentionDays: config.events.retentionDays,
  });
  const app = await createApi({ platform, logger: logger.child({ component: 'api' }), version });

  let started = false;
  return {
    app,
    platform,
    runtime,
    store,
    reconciler,
    events,
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
      await runtime.start();
      await reconciler.start();
      workflows.start();
      housekeeping.start();
      const address = app.server.address() as AddressInfo;
      return `http://${formatHost(address.address)}:${address.port}`;
    },
    async stop() {
      await app.close();
      if (started) {
        // Builds first: a finishing build triggers the reconciler, which must still be there to ignore it.
        await housekeeping.stop();
        await workflows.stop();
        await reconciler.stop();
        await runtime.shutdown();
        await events.flush();
      }
      await store.close();
      lock.release();
    },
  };
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
