// kill -9 of the server during ingest: after a restart the store opens and every acknowledged record is there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogResult } from '../../src/telemetry/query/contracts.js';
import { startServer, type RunningServer } from '../helpers/opspilot-process.js';

let workspace: string;
let server: RunningServer | undefined;

afterAll(async () => {
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

function batch(number: number, size: number): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ingester' } }] },
        scopeLogs: [
          {
            logRecords: Array.from({ length: size }, (_, index) => ({
              timeUnixNano: String(now + BigInt(index)),
              severityNumber: 9,
              body: { stringValue: `ack-${number}-${index}` },
            })),
          },
        ],
      },
    ],
  });
}

describe('telemetry durability', () => {
  it('keeps every acknowledged record across kill -9', async () => {
    workspace = mkdtempSync(join(tmpdir(), 'opspilot-durability-'));
    const dataDir = join(workspace, 'data');
    server = await startServer({ dataDir });
    const otlp = server.otlp;
    const acknowledged: number[] = [];
    const size = 40;
    const control = { stop: false };
    const sender = (async () => {
      for (let number = 0; number < 200 && !control.stop; number += 1) {
        try {
          const response = await fetch(`${otlp}/v1/logs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: batch(number, size),
          });
          if (response.status === 200) acknowledged.push(number);
        } catch {
          return; // the server died mid-request: that batch was never acknowledged
        }
      }
    })();
    while (acknowledged.length < 10) await new Promise((resolve) => setTimeout(resolve, 20));
    await server.stop('SIGKILL');
    control.stop = true;
    await sender;

    server = await startServer({ dataDir });
    const found = new Set<string>();
    let cursor: string | undefined;
    do {
      const url = new URL(`${server.url}/api/v1/telemetry/logs`);
      url.search = new URLSearchParams({
        namespace: 'default',
        component: 'ingester',
        text: 'ack-',
        period: 'last_1h',
        limit: '1000',
        ...(cursor === undefined ? {} : { cursor }),
      }).toString();
      const page = (await (await fetch(url, { headers: server.headers })).json()) as LogResult;
      for (const entry of page.entries) found.add(entry.body);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const missing = acknowledged.flatMap((number) =>
      Array.from({ length: size }, (_, index) => `ack-${number}-${index}`).filter((body) => !found.has(body)),
    );
    expect(acknowledged.length).toBeGreaterThanOrEqual(10);
    expect(missing).toEqual([]);
  });
});
