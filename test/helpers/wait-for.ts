// Polls a condition until it holds or a deadline passes; the failure message shows the last value seen.
import { errorMessage } from '../../src/core/errors.js';

export async function waitFor<T>(
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (accept(last)) return last;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
  const seen = lastError === undefined ? JSON.stringify(last, null, 2) : errorMessage(lastError);
  throw new Error(`timed out waiting for ${options.what ?? 'condition'}; last seen: ${seen.slice(0, 4000)}`);
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { headers: { connection: 'close' } });
  return { status: response.status, body: await response.text() };
}
