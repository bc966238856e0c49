// One `opspilot up` per data dir: two supervisors would fight over the same replicas.
import { openSync, readFileSync, rmSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from '../core/errors.js';
import type { ProcessTable } from '../runtime/local/process-table.js';

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string, processTable: ProcessTable): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'opspilot.lock');
  const token = processTable.startToken(process.pid) ?? 'unknown';
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, token }));
      closeSync(fd);
      return {
        release: () => {
          rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      if (holder !== undefined && processTable.startToken(holder.pid) === holder.token) {
        throw new ConflictError(`another opspilot (pid ${holder.pid}) is running with data dir ${dataDir}`, {
          hint: 'Stop it first, or give this one its own --data-dir.',
        });
      }
      rmSync(path, { force: true }); // left by a process that is gone
    }
  }
  throw new ConflictError(`cannot lock data dir ${dataDir}`, {
    hint: 'Another opspilot is starting with it.',
  });
}

function readHolder(path: string): { pid: number; token: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; token?: unknown };
    return typeof parsed.pid === 'number' && typeof parsed.token === 'string'
      ? { pid: parsed.pid, token: parsed.token }
      : undefined;
  } catch {
    return undefined;
  }
}
