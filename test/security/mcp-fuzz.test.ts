// A seeded fuzz of every tool of both MCP servers, with the real SDK client against a real in-process server:
// the tools come from tools/list, and each gets a fixed number of argument objects generated from its
// inputSchema (the first well-formed, the others with wrong types, missing or unknown fields, huge strings,
// deep nesting, unicode, negative numbers, another tenant's names), as a platform-admin and as a viewer of one
// namespace, who also calls the tools hidden from them. No call may end in a server error (JSON-RPC -32603, HTTP
// 5xx, a transport failure), every refusal must say what was wrong and what to do, and every call must leave
// an audit record by its caller. FUZZ_SEED picks another sequence (failures name it), FUZZ_PER_TOOL another
// count.
import {
  Client,
  ProtocolError,
  SdkHttpError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { junkValues, prng } from './fuzz.js';

const seed = Number(process.env.FUZZ_SEED ?? '20260614');
/** Calls per tool and caller: the first well-formed, the others mutated. */
const perTool = Number(process.env.FUZZ_PER_TOOL ?? 5);

/** The part of JSON Schema that zod's conversion of our tool inputs uses. */
interface Schema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly Schema[];
  readonly oneOf?: readonly Schema[];
  readonly allOf?: readonly Schema[];
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, Schema>>;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly format?: string;
}

/** Arguments nest under params.arguments: this stays inside the endpoint's 64 levels, so zod sees it. */
const junk = junkValues(50);

/** The viewer's namespace, another tenant's, and names that exist in neither. */
const names: readonly string[] = ['shop', 'bank', 'worker', 'ledger', 'dev', 'prod', 'default', 'nope'];

class Fuzzer {
  readonly random: () => number;

  constructor(
    private readonly root: Schema,
    start: number,
    private readonly ids: readonly string[],
  ) {
    this.random = prng(start);
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.random() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  integer(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private hex(length: number): string {
    return Array.from({ length }, () => this.integer(0, 15).toString(16)).join('');
  }

  private resolve(schema: Schema): Schema {
    if (schema.$ref === undefined) return schema;
    const name = schema.$ref.split('/').at(-1) ?? '';
    return this.root.$defs?.[name] ?? {};
  }

  /** A value that fits the schema (as far as a generator without the server's rules can tell). */
  valid(raw: Schema, depth = 0): unknown {
    const schema = this.resolve(raw);
    if (schema.const !== undefined) return schema.const;
    if (schema.enum !== undefined && schema.enum.length > 0) return this.pick(schema.enum);
    const variants = schema.anyOf ?? schema.oneOf ?? schema.allOf;
    if (variants !== undefined && variants.length > 0) return this.valid(this.pick(variants), depth + 1);
    const types: readonly string[] =
      schema.type === undefined ? ['string'] : typeof schema.type === 'string' ? [schema.type] : schema.type;
    const usable = types.filter((candidate) => candidate !== 'null');
    if (usable.length === 0) return null;
    switch (this.pick(usable)) {
      case 'object': {
        const value: Record<string, unknown> = {};
        if (depth > 6) return value;
        for (const [key, property] of Object.entries(schema.properties ?? {})) {
          if (schema.required?.includes(key) === true || this.chance(0.5))
            value[key] = this.valid(property, depth + 1);
        }
        return value;
      }
      case 'array':
        return depth > 6 || schema.items === undefined
          ? []
          : Array.from({ length: this.integer(0, 2) }, () => this.valid(schema.items ?? {}, depth + 1));
      case 'integer':
      case 'number':
        return this.integer(Math.max(schema.minimum ?? 0, -1000), Math.min(schema.maximum ?? 100, 1000));
      case 'boolean':
        return this.chance(0.5);
      default:
        return this.text(schema);
    }
  }

  /** A string of the shape the schema asks for: a name, an id, a trace or span id, a window, a time. */
  private text(schema: Schema): string {
    if (schema.format === 'date-time') return new Date(Date.UTC(2026, 0, 1)).toISOString();
    const pattern = schema.pattern ?? '';
    if (pattern.includes('{32}')) return this.hex(32);
    if (pattern.includes('{16}')) return this.hex(16);
    if (pattern.includes('last_')) return `last_${this.integer(1, 90)}${this.pick(['s', 'm', 'h', 'd'])}`;
    if (this.ids.length > 0 && this.chance(0.2)) return this.pick(this.ids);
    return this.pick(names);
  }

  /** The value with one thing broken somewhere: a wrong value, a missing or an unknown field. */
  mutate(value: unknown, depth = 0): unknown {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
      const record = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(record);
      const key = keys.length === 0 ? undefined : this.pick(keys);
      const roll = this.random();
      if (key !== undefined && roll < 0.4) {
        record[key] = this.mutate(record[key], depth + 1);
      } else if (key !== undefined && roll < 0.6) {
        return Object.fromEntries(Object.entries(record).filter(([name]) => name !== key));
      } else if (roll < 0.75) {
        record[`unknown${this.integer(0, 99)}`] = this.pick(junk);
      } else if (key !== undefined && roll < 0.85) {
        // Another tenant's name where the caller's was, or a huge one.
        record[key] = this.pick(['bank', 'ledger', 'x'.repeat(200_000), 'ünï-cødé', '-1']);
      } else {
        return this.pick(junk);
      }
      return record;
    }
    if (Array.isArray(value) && value.length > 0 && this.chance(0.5)) {
      return (value as unknown[]).map((item, index) => (index === 0 ? this.mutate(item, depth + 1) : item));
    }
    return this.pick(junk);
  }
}

type Who = 'admin' | 'viewer';
const subjects: Record<Who, string> = { admin: 'admin', viewer: 'vera' };
const serverNames = ['control-plane', 'observability'] as const;

let server: InProcessServer;
const tokens: Record<Who, string> = { admin: '', viewer: '' };
/** Ids that exist: a pending proposal in the other tenant's namespace. */
const ids: string[] = [];

/** An SDK client that reports the HTTP status of every response it gets into `statuses`. */
async function connect(name: string, bearer: string, statuses: number[] = []): Promise<Client> {
  const client = new Client(
    { name: 'mcp-fuzz', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/${name}`), {
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
      fetch: async (input: string | URL | Request, init?: RequestInit) => {
        const response = await fetch(input, init);
        statuses.push(response.status);
        return response;
      },
    }),
  );
  return client;
}

/**
 * Whether a refusal says what was wrong and what to do: a reason, then at least one more part (a hint line, or
 * a sentence or clause after the reason). Prose cannot be checked further by a pattern; an "internal error" or
 * a bare reason ("invalid: bad cursor") is refused.
 */
function actionable(message: string): boolean {
  if (/internal error/i.test(message)) return false;
  const parts = message.split(/\n|[.;] /).filter((part) => part.trim().length > 0);
  return parts.length >= 2;
}

/** The message of the JSON-RPC error an HTTP error's body carries (`Error POSTing to endpoint: {…}`). */
function rpcError(text: string): string | undefined {
  try {
    const body = JSON.parse(text.slice(text.indexOf('{'))) as { error?: { message?: unknown } };
    return typeof body.error?.message === 'string' ? body.error.message : undefined;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  server = await startInProcess({ OPSPILOT_GOVERNANCE__GUARDRAILS__COOLDOWN_SECONDS: '0' });
  tokens.admin = (await server.opspilot.adminToken()).token;
  tokens.viewer = (
    await server.opspilot.governance.tokens.issue({
      subject: subjects.viewer,
      grants: [{ role: 'viewer', scope: { namespace: 'shop' } }],
    })
  ).token;
  const tenant = (namespace: string, component: string) => [
    { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: namespace }, spec: {} },
    {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'Component',
      metadata: { name: component, namespace, project: namespace },
      spec: { type: 'worker', run: { command: '/bin/true' } },
    },
    {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'ReleaseBinding',
      metadata: { name: `${component}-dev`, namespace, project: namespace },
      spec: { component, environment: 'dev', replicas: 1, state: 'Undeploy' },
    },
  ];
  await server.opspilot.platform.apply([...tenant('shop', 'worker'), ...tenant('bank', 'ledger')]);
  // A production binding waits for approval: a real pending proposal of the other tenant.
  const apply = await fetch(`${server.url}/api/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      documents: [
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'ReleaseBinding',
          metadata: { name: 'ledger-prod', namespace: 'bank', project: 'bank' },
          spec: { component: 'ledger', environment: 'prod', replicas: 2, state: 'Undeploy' },
        },
      ],
    }),
  });
  ids.push(((await apply.json()) as { proposal: { id: string } }).proposal.id);
}, 60_000);

afterAll(async () => {
  await server.close();
});

/** How a call ended: an answer, an `isError` result, or a JSON-RPC error; `failed` when it must not end so. */
interface Outcome {
  readonly kind: 'ok' | 'isError' | 'rpcError' | 'failed';
  /** The refusal's text (isError, rpcError) or what went wrong (failed). */
  readonly text: string;
}

async function call(client: Client, tool: string, args: unknown): Promise<Outcome> {
  try {
    const result = await client.callTool({
      name: tool,
      // The SDK sends what it is given: arguments that are not an object go out as they are.
      arguments: args as Record<string, unknown>,
    });
    if (result.isError !== true) return { kind: 'ok', text: '' };
    const content = result.content as { type: string; text?: string }[];
    return { kind: 'isError', text: content.map((item) => item.text ?? '').join('\n') };
  } catch (error) {
    if (error instanceof ProtocolError) {
      return error.code === -32603
        ? { kind: 'failed', text: `internal error ${error.message}` }
        : { kind: 'rpcError', text: error.message };
    }
    // A body the endpoint refuses before any tool runs (prototype keys): a JSON-RPC error in HTTP 4xx.
    const message = error instanceof SdkHttpError && error.status < 500 ? rpcError(error.message) : undefined;
    return message === undefined
      ? { kind: 'failed', text: `transport error ${String(error)}` }
      : { kind: 'rpcError', text: message };
  }
}

/** Tool names no server has, or that belong to the other server. */
const strangeTools = ['drop_database', 'x'.repeat(5000), '../list_namespaces', 'list_namespaces\u0000', ''];

describe('MCP fuzz', () => {
  it(`answers every tool of both servers without a server error, refuses with guidance and audits (seed ${seed})`, async () => {
    const audit = server.opspilot.governance.audit;
    const failures: string[] = [];
    const outcomes = { ok: 0, isError: 0, rpcError: 0, failed: 0 };
    let sent = 0;
    let expected = 0;
    let toolIndex = 0;
    for (const name of serverNames) {
      const statuses: number[] = [];
      const clients = {
        admin: await connect(name, tokens.admin, statuses),
        viewer: await connect(name, tokens.viewer, statuses),
      };
      const listed = {
        admin: (await clients.admin.listTools({}, { cacheMode: 'refresh' })).tools,
        viewer: (await clients.viewer.listTools({}, { cacheMode: 'refresh' })).tools,
      };
      expect(listed.admin.length).toBeGreaterThan(10);
      expect(listed.viewer.length).toBeGreaterThan(0);
      const visible = new Set(listed.viewer.map((tool) => tool.name));
      // The viewer sees none of the writes: they are called anyway, and must be refused as hidden.
      if (name === 'control-plane') expect(visible.has('scale_component')).toBe(false);
      const other = serverNames.find((candidate) => candidate !== name) ?? name;
      const plan = [
        ...(['admin', 'viewer'] as const).flatMap((who) =>
          listed.admin.map((tool) => ({ who, tool: tool.name, schema: tool.inputSchema as Schema })),
        ),
        // Tools that do not exist here: their calls must be refused and audited all the same.
        ...(['admin', 'viewer'] as const).flatMap((who) =>
          [...strangeTools, other === 'observability' ? 'query_traces' : 'list_namespaces'].map((tool) => ({
            who,
            tool,
            schema: { type: 'object', properties: { namespace: { type: 'string' } } },
          })),
        ),
      ];
      expected += plan.length * perTool;
      for (const { who, tool, schema } of plan) {
        toolIndex += 1;
        const known = listed.admin.some((candidate) => candidate.name === tool);
        const hidden = known && who === 'viewer' && !visible.has(tool);
        const fuzzer = new Fuzzer(schema, seed * 1000 + toolIndex, ids);
        for (let attempt = 0; attempt < perTool; attempt += 1) {
          const well = fuzzer.valid(schema);
          const args = attempt === 0 ? well : fuzzer.mutate(well);
          const [latest] = await audit.list({ limit: 1 });
          const before = statuses.length;
          const outcome = await call(clients[who], tool, args);
          sent += 1;
          outcomes[outcome.kind] += 1;
          const where = `[seed ${seed}] ${who} ${name} ${tool.slice(0, 60)} ${JSON.stringify(args).slice(0, 200)}`;
          if (outcome.kind === 'failed') failures.push(`${where}: ${outcome.text}`);
          for (const status of statuses.slice(before)) {
            if (status >= 500) failures.push(`${where}: HTTP ${status}`);
          }
          if ((outcome.kind === 'isError' || outcome.kind === 'rpcError') && !actionable(outcome.text))
            failures.push(`${where}: a refusal that does not say what to do: ${outcome.text.slice(0, 300)}`);
          // Refused as hidden, unless the request was refused for its shape before any tool was looked up.
          if (
            hidden &&
            !(
              outcome.kind === 'rpcError' &&
              /may call|JSON-RPC|Invalid tools\/call request/.test(outcome.text)
            )
          )
            failures.push(`${where}: a tool hidden from the caller was not refused as such: ${outcome.text}`);
          if (!known && outcome.kind !== 'rpcError')
            failures.push(`${where}: a tool this server does not have was not refused: ${outcome.kind}`);
          const records = await audit.list({ principal: subjects[who], limit: 20 });
          if (!records.some((record) => record.seq > (latest?.seq ?? 0)))
            failures.push(`${where}: no audit record by ${subjects[who]} (${outcome.text.slice(0, 200)})`);
        }
      }
      await clients.admin.close();
      await clients.viewer.close();
    }
    expect(sent).toBe(expected);
    // The fuzz reaches the tools, not only their argument checks.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.isError).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  }, 600_000);
});

describe('MCP calls that fail before a governed service records anything', () => {
  /** A client of the control plane as a new principal of this role, so that its records are its test's own. */
  async function clientAs(subject: string, role: 'platform-admin' | 'viewer'): Promise<Client> {
    const issued = await server.opspilot.governance.tokens.issue({
      subject,
      grants: [{ role, scope: { namespace: role === 'viewer' ? 'shop' : '*' } }],
    });
    return connect('control-plane', issued.token);
  }

  async function recordsOf(
    subject: string,
    tool: string,
  ): Promise<{ result: string; decision: string; reasons: readonly string[] }[]> {
    return (await server.opspilot.governance.audit.list({ principal: subject, limit: 100 })).filter(
      (record) => record.target.startsWith(`tools/call ${tool} `),
    );
  }

  it('are audited once by the edge: a read of a proposal that does not exist', async () => {
    const client = await clientAs('gina', 'viewer');
    const outcome = await call(client, 'get_proposal', { id: 'no-such-proposal' });
    await client.close();
    expect(outcome.kind).toBe('isError');
    expect(outcome.text).toMatch(/not_found: proposal no-such-proposal does not exist\n\S/);
    const records = await recordsOf('gina', 'get_proposal');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'deny', result: 'error:not_found' });
  });

  it('are audited once by the edge: a write whose plan finds no such component', async () => {
    const client = await clientAs('rene', 'platform-admin');
    const outcome = await call(client, 'restart_component', {
      namespace: 'shop',
      component: 'ghost',
      environment: 'dev',
    });
    await client.close();
    expect(outcome.kind).toBe('isError');
    expect(outcome.text).toMatch(/not_found: .*ghost/);
    const records = await recordsOf('rene', 'restart_component');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ namespace: 'shop', decision: 'deny', result: 'error:not_found' });
  });

  it('are audited once by the edge: arguments that are not an object, refused before the SDK sees them', async () => {
    const client = await clientAs('arlo', 'platform-admin');
    const outcome = await call(client, 'list_components', 'shop');
    await client.close();
    expect(outcome).toEqual({
      kind: 'rpcError',
      text: expect.stringMatching(/params\.arguments must be an object.*not a string.*inputSchema/) as string,
    });
    const records = await recordsOf('arlo', 'list_components');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ action: 'platform.read', decision: 'deny', result: 'invalid_params' });
  });

  it("leave the service's record alone when it wrote one: a list in another tenant is recorded once", async () => {
    const client = await clientAs('lena', 'viewer');
    const outcome = await call(client, 'list_components', { namespace: 'bank' });
    await client.close();
    expect(outcome.kind).toBe('isError');
    const records = await server.opspilot.governance.audit.list({ principal: 'lena', limit: 5 });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      edge: 'mcp',
      namespace: 'bank',
      decision: 'deny',
      result: 'forbidden',
    });
  });
});
