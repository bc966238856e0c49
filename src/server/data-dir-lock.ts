// One `opspilot up` per data dir: two supervisors would fight over the same replicas. Taking the lock also
// closes the data dir to everyone else: the dir and every folder in it 0700, every file 0600 (older versions
// and other tools may have left looser modes; `opspilot up` itself creates files with umask 077).
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConflictError, ForbiddenError } from '../core/errors.js';
import type { ProcessTable } from '../runtime/local/process-table.js';

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string, processTable: ProcessTable): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dataDir, 0o700);
  } catch (error) {
    throw new ForbiddenError(`cannot make data dir ${dataDir} private (mode 0700)`, {
      hint: 'The data dir holds the admin token and signing keys: give opspilot a data dir it owns (--data-dir).',
      cause: error,
    });
  }
  restrictModes(dataDir);
  const path = join(dataDir, 'opspilot.lock');
  const token = processTable.startToken(process.pid) ?? 'unknown';
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, 'wx', 0o600);
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

/**
 * Folders 0700, files 0600, below and including `path`. Symbolic links are not followed: a link in the data dir
 * (a state DB kept elsewhere, say) leaves its target's mode to whoever owns it.
 */
export function restrictModes(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  const wanted = stat.isDirectory() ? 0o700 : 0o600;
  try {
    if ((stat.mode & 0o777) !== wanted) chmodSync(path, wanted);
  } catch {
    // Not ours to change (another user's file); the data dir's own 0700 still keeps others out.
  }
  if (stat.isDirectory()) for (const entry of readdirSync(path)) restrictModes(join(path, entry));
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
