// Follows the files that replicas write their stdout/stderr to. Files (not pipes) let a replica outlive
// the supervisor: nothing breaks when opspilot restarts, and the next run continues reading where it was.
import { open, stat, truncate } from 'node:fs/promises';

const maxLineBytes = 64 * 1024;
const maxReadBytes = 1024 * 1024;

export interface TailedFile {
  readonly path: string;
  /** Byte offset of the next unread byte. */
  offset: number;
  /** Bytes of an unfinished last line. */
  partial: string;
  readonly onLine: (line: string) => void;
}

export class LogTailer {
  private readonly files = new Map<string, TailedFile>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly intervalMs = 250,
    private readonly maxFileBytes = 10 * 1024 * 1024,
  ) {}

  follow(path: string, offset: number, onLine: (line: string) => void): void {
    this.files.set(path, { path, offset, partial: '', onLine });
    this.timer ??= setInterval(() => {
      this.polling ??= this.poll().finally(() => {
        this.polling = undefined;
      });
    }, this.intervalMs);
  }

  /** Reads what is left in the file, flushes an unfinished line, and stops following it. */
  async unfollow(path: string): Promise<void> {
    const file = this.files.get(path);
    if (file === undefined) return;
    // Out of the map first, so that no poll reads it again while the final read below runs.
    this.files.delete(path);
    await this.polling;
    await this.readNew(file);
    if (file.partial !== '') file.onLine(file.partial);
    if (this.files.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  offsetOf(path: string): number | undefined {
    return this.files.get(path)?.offset;
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    this.files.clear();
  }

  private async poll(): Promise<void> {
    for (const file of this.files.values()) await this.readNew(file);
  }

  private async readNew(file: TailedFile): Promise<void> {
    const info = await stat(file.path).catch(() => undefined);
    if (info === undefined) return;
    if (info.size < file.offset) {
      // Truncated (rotated) under us: start again from the top.
      file.offset = 0;
      file.partial = '';
    }
    while (info.size > file.offset) {
      const length = Math.min(info.size - file.offset, maxReadBytes);
      const handle = await open(file.path, 'r').catch(() => undefined);
      if (handle === undefined) return;
      let bytesRead: number;
      const buffer = Buffer.alloc(length);
      try {
        ({ bytesRead } = await handle.read(buffer, 0, length, file.offset));
      } finally {
        await handle.close();
      }
      if (bytesRead === 0) break;
      file.offset += bytesRead;
      this.emitLines(file, buffer.subarray(0, bytesRead).toString('utf8'));
    }
    if (file.offset > this.maxFileBytes) {
      // Copy-truncate rotation: writers use O_APPEND, so they carry on at the new end.
      await truncate(file.path, 0).catch(() => undefined);
      file.offset = 0;
    }
  }

  private emitLines(file: TailedFile, text: string): void {
    const lines = (file.partial + text).split('\n');
    file.partial = lines.pop() ?? '';
    for (const line of lines) file.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    while (file.partial.length > maxLineBytes) {
      file.onLine(file.partial.slice(0, maxLineBytes));
      file.partial = file.partial.slice(maxLineBytes);
    }
  }
}
