// The observability plane in one place: the embedded store, the ingest pipeline, the OTLP receiver, the
// runtime's telemetry, retention and the query service. The composition root opens it and wires it in.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config/config-schema.js';
import { UnavailableError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodic-task.js';
import type { TelemetryBatch } from './model.js';
import { IngestPipeline } from './ingest/ingest-pipeline.js';
import {
  createOtlpReceiver,
  type IngestPermit,
  type IngestRequest,
  type OtlpReceiver,
  type ReceiverStats,
} from './ingest/otlp-receiver.js';
import { ResourceIdentities } from './ingest/resource-identity.js';
import { RuntimeTelemetry } from './ingest/runtime-telemetry.js';
import { TelemetryQueryService, type AllocationSource } from './query/telemetry-query-service.js';
import type { TelemetryStore } from './store/telemetry-store.js';
import { ThreadedTelemetryStore } from './store/threaded-telemetry-store.js';

export interface TelemetryPlaneOptions {
  readonly config: Pick<Config, 'dataDir' | 'otlp' | 'telemetry'>;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Database file; defaults to `<dataDir>/telemetry.duckdb`. */
  readonly path?: string;
  /** Requests and limits of bindings, for resource usage. */
  readonly allocations?: AllocationSource;
}

export class TelemetryPlane {
  readonly identities = new ResourceIdentities();
  readonly pipeline: IngestPipeline;
  readonly runtime: RuntimeTelemetry;
  readonly queries: TelemetryQueryService;
  private receiver: OtlpReceiver | undefined;
  private otlpAddress: string | undefined;
  private retention: PeriodicTask | undefined;

  private constructor(
    readonly store: TelemetryStore,
    private readonly options: TelemetryPlaneOptions,
  ) {
    const { telemetry } = options.config;
    this.pipeline = new IngestPipeline({
      writer: store,
      flushIntervalMs: telemetry.flushIntervalMs,
      maxBatchRecords: telemetry.maxBatchRecords,
      maxPendingRecords: telemetry.maxPendingRecords,
      onError: (error) => {
        options.logger.error({ err: error }, 'telemetry commit failed');
      },
    });
    let warned = false;
    this.runtime = new RuntimeTelemetry(
      (batch) => this.ingest(batch),
      this.identities,
      (error) => {
        // Runtime telemetry is best effort: never let it disturb the runtime, but say once that data is lost.
        if (!warned)
          options.logger.warn({ err: error }, 'dropping runtime telemetry (the store is busy or down)');
        warned = true;
      },
    );
    this.queries = new TelemetryQueryService(store, options.clock, options.allocations);
  }

  static async open(options: TelemetryPlaneOptions): Promise<TelemetryPlane> {
    const store = await ThreadedTelemetryStore.open(
      {
        path: options.path ?? join(options.config.dataDir, 'telemetry.duckdb'),
        threads: options.config.telemetry.threads,
        memoryLimit: options.config.telemetry.memoryLimit,
      },
      (error) => {
        options.logger.error(
          { err: error },
          'the telemetry store stopped: ingest answers 503 and queries fail until opspilot is restarted',
        );
      },
    );
    return new TelemetryPlane(store, options);
  }

  /** Every ingest path ends here; resolves once the batch is durable. */
  ingest(batch: TelemetryBatch): Promise<void> {
    return this.pipeline.write(batch);
  }

  /** Starts the OTLP receiver when enabled; resolves with its base URL. */
  async listen(authorize?: (request: IngestRequest) => Promise<IngestPermit>): Promise<string | undefined> {
    const { otlp } = this.options.config;
    if (!otlp.enabled) return undefined;
    const receiver = createOtlpReceiver({
      ...(authorize === undefined ? {} : { authorize }),
      ingest: (batch) => this.ingest(batch),
      identities: this.identities,
      logger: this.options.logger.child({ component: 'otlp' }),
      maxBodyBytes: otlp.maxBodyBytes,
      maxDecompressedBytes: otlp.maxDecompressedBytes,
      maxInflightBytes: otlp.maxInflightBytes,
      limits: otlp,
    });
    try {
      await receiver.app.listen({ host: otlp.host, port: otlp.port });
    } catch (error) {
      await receiver.app.close();
      const code = (error as NodeJS.ErrnoException).code;
      throw new UnavailableError(
        `cannot listen for OTLP on ${otlp.host}:${otlp.port} (${code ?? String(error)})`,
        {
          hint: 'Another process (an OpenTelemetry Collector?) uses that port: stop it, or pass --otlp-port / OPSPILOT_OTLP_PORT.',
          cause: error,
        },
      );
    }
    this.receiver = receiver;
    const address = receiver.app.server.address() as AddressInfo;
    this.otlpAddress = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    return this.otlpAddress;
  }

  /** The OTLP receiver's byte counters (decompressed, in flight) once it listens. */
  receiverStats(): ReceiverStats | undefined {
    return this.receiver?.stats();
  }

  /** Base URL of the OTLP receiver once it listens. */
  get otlpEndpoint(): string | undefined {
    return this.otlpAddress;
  }

  /** The OpenTelemetry SDK settings every replica gets, so that its telemetry arrives under its identity. */
  replicaEnvironment(labels: Readonly<Record<string, string>>): Record<string, string> {
    if (this.otlpAddress === undefined) return {};
    const attributes = [
      `opspilot.namespace=${labels.namespace ?? ''}`,
      `opspilot.project=${labels.project ?? ''}`,
      `opspilot.component=${labels.component ?? ''}`,
      `opspilot.environment=${labels.environment ?? ''}`,
      `deployment.environment.name=${labels.environment ?? ''}`,
      `service.version=${labels.release ?? ''}`,
      'service.instance.id=$(OPSPILOT_REPLICA)',
    ];
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: this.otlpAddress,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_SERVICE_NAME: labels.component ?? 'unknown_service',
      OTEL_RESOURCE_ATTRIBUTES: attributes.join(','),
      OTEL_METRIC_EXPORT_INTERVAL: String(this.options.config.telemetry.replicaMetricIntervalMs),
      // Spans and logs are exported within a second, so that an incident is visible while it happens.
      OTEL_BSP_SCHEDULE_DELAY: '1000',
      OTEL_BLRP_SCHEDULE_DELAY: '1000',
    };
  }

  /** Deletes data past retention every ten minutes (and once now). */
  startRetention(intervalMs = 600_000): void {
    this.retention = new PeriodicTask(
      async () => {
        const removed = await this.applyRetention();
        if (removed > 0) this.options.logger.info({ removed }, 'telemetry past retention deleted');
      },
      {
        intervalMs,
        onError: (error) => {
          this.options.logger.warn({ err: error }, 'telemetry retention failed; will retry');
        },
      },
    );
    this.retention.start();
  }

  /** Deletes rows older than the retention period; returns how many. */
  async applyRetention(): Promise<number> {
    const cutoffUs =
      (this.options.clock.now().getTime() - this.options.config.telemetry.retentionDays * 86_400_000) * 1000;
    let removed = 0;
    for (const table of ['logs', 'spans', 'metric_points']) {
      removed += await this.store.execute(
        `DELETE FROM ${table} WHERE ts < make_timestamp(CAST($cutoff AS BIGINT))`,
        { cutoff: cutoffUs },
      );
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.receiver?.app.close();
    await this.retention?.stop();
    await this.pipeline.close();
    const stats = this.pipeline.stats();
    if (stats.commits > 0) this.options.logger.info(stats, 'telemetry ingest stopped');
    await this.store.close();
  }
}
