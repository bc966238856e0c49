// MCP tool-call latency and throughput over local Streamable HTTP (a real `opspilot up` process, the SDK
// client, 2026-07-28), and the cost of authorization + audit per call (the same read with and without the
// governed path, in one process, interleaved). JSON on stdout; medians of 3 runs.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { pino } from 'pino';
import { inheritedEnvironment, loadConfig } from '../src/config/load-config.js';
import { createOpspilot } from '../src/server/opspilot-server.js';
import { serviceManifest, yamlDocuments } from '../test/helpers/manifests.js';
import { freshServer, machine, median, percentile, print, round } from './lib/harness.js';
import { mintPrincipal } from '../src/governance/identity/credentials.js';

const fixture = fileURLToPath(new URL('../test/fixtures/http-service.mjs', import.meta.url));
const runs = 3;
const sequentialCalls = Number(process.env.BENCH_CALLS ?? 2000);
const concurrentClients = 20;
const concurrentSeconds = Number(process.env.BENCH_SECONDS ?? 5);
const overheadCalls = Number(process.env.BENCH_OVERHEAD_CALLS ?? 3000);
const call = { name: 'get_component_status', arguments: { namespace: 'default', component: 'echo' } };

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client(
    { name: 'bench', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp/control-plane`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function overTheWire(): Promise<Record<string, unknown>> {
  const { server, dataDir, stop } = await freshServer();
  try {
    const app = join(dataDir, '..', 'app');
    mkdirSync(app, { recursive: true });
    copyFileSync(fixture, join(app, 'server.mjs'));
    const documents = yamlDocuments(
      serviceManifest({ command: process.execPath, args: ['server.mjs'], cwd: app, replicas: 1 }),
    );
    const applied = await fetch(`${server.url}/api/v1/apply`, {
      method: 'POST',
      headers: { ...server.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ documents }),
    });
    if (!applied.ok) throw new Error(`apply failed: ${await applied.text()}`);

    const p50: number[] = [];
    const p99: number[] = [];
    const throughput: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const client = await connect(server.url, server.token);
      for (let index = 0; index < 200; index += 1) await client.callTool(call); // warm-up
      const latencies: number[] = [];
      for (let index = 0; index < sequentialCalls; index += 1) {
        const started = performance.now();
        const result = await client.callTool(call);
        latencies.push(performance.now() - started);
        if (result.isError === true) throw new Error(JSON.stringify(result.content));
      }
      await client.close();
      p50.push(percentile(latencies, 50));
      p99.push(percentile(latencies, 99));

      const clients = await Promise.all(
        Array.from({ length: concurrentClients }, () => connect(server.url, server.token)),
      );
      let completed = 0;
      const deadline = performance.now() + concurrentSeconds * 1000;
      const started = performance.now();
      await Promise.all(
        clients.map(async (client) => {
          while (performance.now() < deadline) {
            await client.callTool(call);
            completed += 1;
          }
        }),
      );
      throughput.push(completed / ((performance.now() - started) / 1000));
      await Promise.all(clients.map((client) => client.close()));
    }
    return {
      sequentialCallsPerRun: sequentialCalls,
      p50Ms: round(median(p50), 2),
      p99Ms: round(median(p99), 2),
      p50MsRuns: p50.map((value) => round(value, 2)),
      p99MsRuns: p99.map((value) => round(value, 2)),
      concurrentClients,
      callsPerSecond: Math.round(median(throughput)),
      callsPerSecondRuns: throughput.map((value) => Math.round(value)),
    };
  } finally {
    await stop();
  }
}

/** The same read through the governed path and straight to the platform, interleaved in batches. */
async function governanceOverhead(): Promise<Record<string, unknown>> {
  const workspace = mkdtempSync(join(tmpdir(), 'opspilot-bench-governance-'));
  const config = loadConfig({
    env: {},
    cwd: workspace,
    overrides: { dataDir: join(workspace, 'data'), port: 0, otlpPort: 0 },
  });
  const opspilot = await createOpspilot({
    config: { ...config, auth: { ...config.auth, printAdminToken: false } },
    logger: pino({ level: 'silent' }),
    baseEnv: inheritedEnvironment(),
  });
  try {
    await opspilot.start();
    await opspilot.platform.apply(
      yamlDocuments(
        serviceManifest({
          command: process.execPath,
          args: ['-e', 'setInterval(() => {}, 1000)'],
          replicas: 0,
        }),
      ),
    );
    const caller = {
      principal: mintPrincipal({
        subject: 'bench',
        kind: 'user' as const,
        autonomy: 2 as const,
        issuer: 'bench',
        grants: [{ role: 'viewer' as const, scope: { namespace: 'default' } }],
      }),
      edge: 'mcp' as const,
      client: 'bench',
    };
    const governed = opspilot.governance.forCaller(caller);
    const direct = (): Promise<unknown> => opspilot.platform.componentStatus('default', 'echo');
    const viaGovernance = (): Promise<unknown> => governed.componentStatus('default', 'echo');
    const batch = 100;
    const perCall = { direct: [] as number[], governed: [] as number[] };
    for (let round = 0; round < runs; round += 1) {
      let directMs = 0;
      let governedMs = 0;
      for (let done = 0; done < overheadCalls; done += batch) {
        let started = performance.now();
        await Promise.all(Array.from({ length: batch }, direct));
        directMs += performance.now() - started;
        started = performance.now();
        await Promise.all(Array.from({ length: batch }, viaGovernance));
        governedMs += performance.now() - started;
      }
      perCall.direct.push(directMs / overheadCalls);
      perCall.governed.push(governedMs / overheadCalls);
    }
    // Sequential calls show the latency a single caller sees, with the audit commit in its path.
    const sequential = { direct: [] as number[], governed: [] as number[] };
    for (let index = 0; index < 500; index += 1) {
      let started = performance.now();
      await direct();
      sequential.direct.push(performance.now() - started);
      started = performance.now();
      await viaGovernance();
      sequential.governed.push(performance.now() - started);
    }
    return {
      concurrentBatch: batch,
      callsPerRound: overheadCalls,
      directMsPerCall: round(median(perCall.direct), 3),
      governedMsPerCall: round(median(perCall.governed), 3),
      overheadMsPerCall: round(median(perCall.governed) - median(perCall.direct), 3),
      sequentialDirectP50Ms: round(percentile(sequential.direct, 50), 3),
      sequentialGovernedP50Ms: round(percentile(sequential.governed, 50), 3),
      sequentialOverheadP50Ms: round(
        percentile(sequential.governed, 50) - percentile(sequential.direct, 50),
        3,
      ),
      auditRecords: (await opspilot.governance.audit.verify()).checked,
    };
  } finally {
    await opspilot.stop();
    rmSync(workspace, { recursive: true, force: true });
  }
}

const wire = await overTheWire();
const overhead = await governanceOverhead();
print({
  benchmark: 'mcp tools/call get_component_status',
  machine: machine(),
  targets: {
    p50Ms: '< 5',
    p99Ms: '< 20',
    callsPerSecond: '>= 1000 with 20 clients',
    overheadMsPerCall: '< 1',
  },
  streamableHttp: wire,
  authorizationAndAudit: overhead,
  note: 'state on SQLite in the data dir; one audit record per call, group-committed',
});
