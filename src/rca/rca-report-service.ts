// Stored RCA reports: one per investigation, `running` until it completes or fails. A report that was running
// when opspilot stopped is marked failed on the next start (its alert is investigated again if still firing).
import type { Clock } from '../core/clock.js';
import { NotFoundError } from '../core/errors.js';
import type { IdGenerator } from '../core/ids.js';
import type { RcaReportRecord, StateStore } from '../state/ports.js';
import { rcaReportSchema, type RcaReportView, type RcaStatus } from './contracts.js';
import type { LlmUsage } from './writer.js';

export interface StartInvestigation {
  readonly namespace: string;
  readonly alert: RcaReportView['alert'];
  readonly groupKey: string;
  readonly trigger: RcaReportView['trigger'];
  readonly requestedBy: string;
}

export class RcaReportService {
  constructor(
    private readonly options: {
      readonly store: StateStore;
      readonly clock: Clock;
      readonly ids: IdGenerator;
    },
  ) {}

  async start(input: StartInvestigation): Promise<RcaReportView> {
    const now = this.options.clock.now().toISOString();
    const report: RcaReportView = {
      id: `rca-${this.options.ids.uid().slice(0, 12)}`,
      namespace: input.namespace,
      status: 'running',
      trigger: input.trigger,
      requestedBy: input.requestedBy,
      alert: input.alert,
      groupKey: input.groupKey,
      createdAt: now,
      completedAt: null,
      durationMs: null,
      window: null,
      rootCauses: [],
      excluded: [],
      timeline: [],
      noRootCause: null,
      recommendations: [],
      traces: null,
      remediation: null,
      alternatives: [],
      narrative: '',
      llm: { used: false, model: null, inputTokens: 0, outputTokens: 0, costUsd: 0, note: null },
      error: null,
    };
    await this.options.store.rcaReports.insert(toRecord(report));
    return report;
  }

  /** Stores the finished report (completed or failed). */
  async finish(report: RcaReportView): Promise<RcaReportView> {
    const now = this.options.clock.now();
    const done: RcaReportView = {
      ...report,
      completedAt: now.toISOString(),
      durationMs: now.getTime() - Date.parse(report.createdAt),
    };
    await this.options.store.rcaReports.update(toRecord(rcaReportSchema.parse(done)));
    return done;
  }

  /** Adds the tokens and cost of a chat answer to the report's totals. */
  async addUsage(id: string, usage: LlmUsage): Promise<RcaReportView> {
    return this.options.store.transaction(async (tx) => {
      const record = await tx.rcaReports.get(id);
      if (record === undefined) throw new NotFoundError(`RCA report ${id} does not exist`);
      const report = rcaReportSchema.parse(record.body);
      const updated: RcaReportView = {
        ...report,
        llm: {
          ...report.llm,
          model: report.llm.model ?? usage.model,
          inputTokens: report.llm.inputTokens + usage.inputTokens,
          outputTokens: report.llm.outputTokens + usage.outputTokens,
          costUsd: report.llm.costUsd + usage.costUsd,
        },
      };
      await tx.rcaReports.update({ ...toRecord(updated), updatedAt: this.options.clock.now().toISOString() });
      return updated;
    });
  }

  async get(id: string): Promise<RcaReportView> {
    const record = await this.options.store.rcaReports.get(id);
    if (record === undefined) {
      throw new NotFoundError(`RCA report ${id} does not exist`, {
        hint: 'List reports with `opspilot rca list`.',
      });
    }
    return rcaReportSchema.parse(record.body);
  }

  async list(filter: {
    namespaces?: '*' | readonly string[];
    groupKey?: string;
    statuses?: readonly RcaStatus[];
    limit?: number;
  }): Promise<RcaReportView[]> {
    const namespaces = filter.namespaces ?? '*';
    const base = { groupKey: filter.groupKey, statuses: filter.statuses, limit: filter.limit };
    const lists =
      namespaces === '*'
        ? [await this.options.store.rcaReports.list(base)]
        : await Promise.all(
            namespaces.map((namespace) => this.options.store.rcaReports.list({ ...base, namespace })),
          );
    return lists
      .flat()
      .map((record) => rcaReportSchema.parse(record.body))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .slice(0, filter.limit ?? 50);
  }

  /** Marks reports left running by a previous run as failed; returns them. */
  async failInterrupted(): Promise<RcaReportView[]> {
    const running = await this.list({ statuses: ['running'], limit: 500 });
    const failed: RcaReportView[] = [];
    for (const report of running) {
      failed.push(
        await this.finish({
          ...report,
          status: 'failed',
          error: 'opspilot stopped during the investigation; run it again with `opspilot rca run`',
        }),
      );
    }
    return failed;
  }
}

function toRecord(report: RcaReportView): RcaReportRecord {
  return {
    id: report.id,
    namespace: report.namespace,
    status: report.status,
    alertFingerprint: report.alert.fingerprint,
    groupKey: report.groupKey,
    createdAt: report.createdAt,
    updatedAt: report.completedAt ?? report.createdAt,
    body: report,
  };
}
