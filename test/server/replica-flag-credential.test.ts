// What a replica gets for feature flags, through a real server and the local runtime: the OFREP URL and a flag
// credential for its own component and environment (never the admin token), with which it evaluates its
// namespace's flags and nothing else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { waitFor } from '../helpers/wait-for.js';

let server: InProcessServer;
let admin: string;

// The worker prints what it was given for flags, and whether any of its variables holds a JWT, as JSON.
const script = `
const env = process.env;
console.log(JSON.stringify({
  url: env.OPSPILOT_FLAGS_URL ?? null,
  token: env.OPSPILOT_FLAGS_TOKEN ?? null,
  jwts: Object.entries(env).filter(([, value]) => /^eyJ[\\w-]+\\.[\\w-]+\\.[\\w-]+$/.test(value)).map(([name]) => name),
}));
setInterval(() => {}, 60000);
`;

const manifest = `apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: flag-probe, namespace: default, project: shop }
spec:
  type: worker
  run: { command: node, args: ["-e", ${JSON.stringify(script)}] }
---
apiVersion: opspilot.dev/v1alpha1
kind: ReleaseBinding
metadata: { name: flag-probe-dev, namespace: default, project: shop }
spec: { component: flag-probe, environment: dev, replicas: 1, state: Active }
---
apiVersion: opspilot.dev/v1alpha1
kind: FeatureFlag
metadata: { name: new-flow, namespace: default }
spec:
  type: boolean
  variants: { on: true, off: false }
  defaultVariant: off
  targeting: [{ environments: [dev], variant: on }]
`;

beforeAll(async () => {
  server = await startInProcess();
  admin = (await server.opspilot.adminToken()).token;
});

afterAll(async () => {
  await server.close();
});

describe('a replica and its flags', () => {
  it('gets the OFREP URL and a flag credential that evaluates as itself, and no JWT', async () => {
    const headers = { authorization: `Bearer ${admin}` };
    const applied = await fetch(`${server.url}/api/v1/apply`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/yaml' },
      body: manifest,
    });
    expect(applied.status, await applied.clone().text()).toBe(200);
    const lines = await waitFor(
      async () => {
        const response = await fetch(
          `${server.url}/api/v1/namespaces/default/components/flag-probe/logs?environment=dev`,
          { headers },
        );
        return ((await response.json()) as { lines?: { line: string }[] }).lines ?? [];
      },
      (seen) => seen.some((line) => line.line.startsWith('{"url"')),
      { what: 'the probe to print its flag settings', timeoutMs: 30_000 },
    );
    const printed = JSON.parse(lines.find((line) => line.line.startsWith('{"url"'))?.line ?? '{}') as {
      url: string | null;
      token: string | null;
      jwts: string[];
    };
    expect(printed.url).toBe(server.url);
    expect(printed.jwts).toEqual([]);
    expect(printed.token).not.toContain(admin);
    expect(printed.token).toMatch(/^opflag1\./);

    const evaluate = (context: Record<string, string>) =>
      fetch(`${server.url}/ofrep/v1/evaluate/flags/new-flow`, {
        method: 'POST',
        headers: { authorization: `Bearer ${printed.token ?? ''}`, 'content-type': 'application/json' },
        body: JSON.stringify({ context }),
      });
    const own = await evaluate({});
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect((await evaluate({ environment: 'prod' })).status).toBe(403);
    const other = await fetch(`${server.url}/api/v1/namespaces/default/featureflags`, {
      headers: { authorization: `Bearer ${printed.token ?? ''}` },
    });
    expect(other.status).toBe(401);
    const asAdmin = await fetch(`${server.url}/api/v1/namespaces/default/featureflags`, { headers });
    expect(((await asAdmin.json()) as { items: unknown[] }).items).toHaveLength(1);
  });
});
