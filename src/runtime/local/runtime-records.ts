// What the local runtime must remember across its own restarts to re-adopt running replicas: one small JSON
// file per workload, written atomically and synchronously right after every spawn, so a crash of the
// supervisor can never leave a process nobody knows about.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReplicaIsolation } from '../ports.js';

export interface ReplicaRecord {
  readonly name: string;
  readonly revision: string;
  readonly templateHash: string;
  readonly port: number | null;
  readonly pid: number | null;
  readonly startToken: string | null;
  readonly startedAt: string | null;
  readonly restarts: number;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  readonly stdoutOffset: number;
  readonly stderrOffset: number;
  /** How it was started (its uid and cgroup); absent in records of older versions. */
  readonly isolation?: ReplicaIsolation | null;
}

export interface WorkloadRecord {
  readonly version: 1;
  readonly workloadId: string;
  readonly name: string;
  readonly endpointPort: number | null;
  /** The workload's uid in user isolation, kept so that a restarted opspilot starts new replicas with it. */
  readonly uid?: number | null;
  readonly replicas: readonly ReplicaRecord[];
}

export class RuntimeRecords {
  constructor(private readonly directory: string) {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  }

  loadAll(): WorkloadRecord[] {
    const records: WorkloadRecord[] = [];
    for (const file of readdirSync(this.directory)) {
      if (!file.endsWith('.json')) continue;
      try {
        const record = JSON.parse(readFileSync(join(this.directory, file), 'utf8')) as { version?: unknown };
        if (record.version === 1) records.push(record as WorkloadRecord);
      } catch {
        // A torn or foreign file: ignore it, the processes it named are swept by their session leader check.
      }
    }
    return records;
  }

  save(record: WorkloadRecord): void {
    const path = this.pathOf(record.workloadId);
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, JSON.stringify(record, null, 2), { mode: 0o600 });
    renameSync(temporary, path);
  }

  remove(workloadId: string): void {
    rmSync(this.pathOf(workloadId), { force: true });
  }

  private pathOf(workloadId: string): string {
    return join(this.directory, `${workloadId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }
}
