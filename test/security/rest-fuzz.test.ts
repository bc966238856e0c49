// A seeded fuzz of every REST route the OpenAPI document lists, on a real in-process server over real HTTP:
// for each route and method, a fixed number of well-formed and mutated requests (path parameters, query,
// body, content type) as a platform-admin and as a viewer. No answer may be a server error, every refusal
// must be problem+json that says what was wrong and what to do, and every request that is not a public
// answer must leave an audit record naming its caller. FUZZ_SEED picks another sequence (failures name it),
// FUZZ_PER_ROUTE another count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { junkValues, prng } from './fuzz.js';

const seed = Number(process.env.FUZZ_SEED ?? '20260613');
/** Requests per route, method and token: the first well-formed, the others mutated. */
const perRoute = Number(process.env.FUZZ_PER_ROUTE ?? 5);

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
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly format?: string;
}

interface Operation {
  readonly parameters?: readonly { name: string; in: string; required?: boolean; schema?: Schema }[];
  readonly requestBody?: { content?: Record<string, { schema?: Schema }> };
}

interface OpenApi {
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components?: { schemas?: Record<string, Schema> };
}

/** Values that break assumptions: wrong types, bounds, sizes, encodings, injection-shaped text. */
const junk = junkValues(60);

const junkStrings: readonly string[] = [
  '',
  '-1',
  '1e309',
  'NaN',
  'true',
  'null',
  '[]',
  '%',
  '%00',
  '..',
  '../../etc/passwd',
  'A'.repeat(3000),
  'Ünïcødé',
  'a b',
  '<x>',
  '2026-13-45T99:99:99Z',
];

/** Names that exist on the server (so some requests reach real resources) and ones that cannot. */
const names: readonly string[] = ['default', 'dev', 'prod', 'echo', 'echo-dev', 'admin', 'viewer', 'p95'];

class Fuzzer {
  readonly random: () => number;

  constructor(
    private readonly document: OpenApi,
    start: number,
    private readonly proposalId: string,
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

  private resolve(schema: Schema): Schema {
    if (schema.$ref === undefined) return schema;
    const name = schema.$ref.split('/').at(-1) ?? '';
    return this.document.components?.schemas?.[name] ?? {};
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
    const type = this.pick(usable);
    switch (type) {
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
        return this.integer(Math.max(schema.minimum ?? 0, -1000), Math.min(schema.maximum ?? 100, 1000));
      case 'number':
        return this.integer(Math.max(schema.minimum ?? 0, -1000), Math.min(schema.maximum ?? 100, 1000));
      case 'boolean':
        return this.chance(0.5);
      default:
        if (schema.format === 'date-time') return new Date(Date.UTC(2026, 0, 1)).toISOString();
        return this.pick(names);
    }
  }

  /** The value with one thing broken somewhere: a wrong value, a missing or an unknown field. */
  mutate(value: unknown, depth = 0): unknown {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
      const record = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(record);
      const key = keys.length === 0 ? undefined : this.pick(keys);
      const roll = this.random();
      if (key !== undefined && roll < 0.35) {
        record[key] = this.mutate(record[key], depth + 1);
      } else if (key !== undefined && roll < 0.55) {
        return Object.fromEntries(Object.entries(record).filter(([name]) => name !== key));
      } else if (roll < 0.75) {
        record[`unknown${this.integer(0, 99)}`] = this.pick(junk);
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

  pathValue(name: string, schema: Schema | undefined): string {
    if (name === 'id' && this.chance(0.5)) return this.proposalId;
    if (this.chance(0.6)) return String(this.valid(schema ?? {}));
    return this.pick([...junkStrings, ...names]);
  }

  queryValue(schema: Schema | undefined, wellFormed: boolean): string {
    if (wellFormed || this.chance(0.6)) {
      const value = this.valid(schema ?? {});
      return typeof value === 'string' ? value : JSON.stringify(value);
    }
    return this.pick(junkStrings);
  }
}

interface FuzzRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

function buildRequest(
  fuzzer: Fuzzer,
  path: string,
  method: string,
  operation: Operation,
  wellFormed: boolean,
): FuzzRequest {
  let url = path;
  const query = new URLSearchParams();
  for (const parameter of operation.parameters ?? []) {
    if (parameter.in === 'path') {
      // Now and then a segment goes out as it is: malformed percent-encoding must be refused, not crash.
      const value =
        !wellFormed && fuzzer.chance(0.05)
          ? fuzzer.pick(['%', '%zz', '%E0%A4%A', '%C0%AF', '..%2F..'])
          : encodeURIComponent(fuzzer.pathValue(parameter.name, parameter.schema));
      url = url.replace(`{${parameter.name}}`, value);
    } else if (parameter.in === 'query' && (parameter.required === true || fuzzer.chance(0.5))) {
      query.append(parameter.name, fuzzer.queryValue(parameter.schema, wellFormed));
      if (!wellFormed && fuzzer.chance(0.1))
        query.append(parameter.name, fuzzer.queryValue(parameter.schema, false));
    }
  }
  if (!wellFormed && fuzzer.chance(0.15))
    query.append(`unknown${fuzzer.integer(0, 9)}`, fuzzer.pick(junkStrings));
  const search = query.toString();
  const headers: Record<string, string> = {};
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  let body: string | undefined;
  // fetch sends no body with GET.
  if (schema !== undefined || (method !== 'get' && !wellFormed && fuzzer.chance(0.2))) {
    const value = fuzzer.valid(schema ?? { type: 'object' });
    const roll = fuzzer.random();
    if (wellFormed || roll < 0.6) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(wellFormed ? value : fuzzer.mutate(value));
    } else if (roll < 0.7) {
      headers['content-type'] = 'application/json';
      body = '{"unterminated": [1, 2';
    } else if (roll < 0.78) {
      headers['content-type'] = 'application/json';
      body = '';
    } else if (roll < 0.86) {
      headers['content-type'] = 'application/yaml';
      body = fuzzer.pick(['a: [1, 2', 'documents:\n  - kind: Namespace\n', '- - - :\n  ? x', '']);
    } else if (roll < 0.93) {
      headers['content-type'] = 'text/plain';
      body = 'hello';
    } else {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = 'grant_type=client_credentials&client_id=x&client_secret=%zz';
    }
  }
  return { method: method.toUpperCase(), url: `${url}${search === '' ? '' : `?${search}`}`, headers, body };
}

/** Routes whose well-formed request would deploy the demo shop (a dozen services): fuzzed malformed only. */
const malformedOnly = new Set(['POST /api/v1/demo/heal', 'POST /api/v1/demo/faults/{name}']);
/** Routes answered in another wire format (OAuth 2 errors, RFC 6749 §5.2). */
const notProblemJson = new Set(['POST /oauth/token']);
/** Routes that need no token: their successful answers are not actions and leave no record. */
const publicRoutes = new Set(['GET /api/v1/auth/config', 'POST /oauth/token']);

let server: InProcessServer;
let document: OpenApi;
const tokens: Record<'admin' | 'viewer', string> = { admin: '', viewer: '' };
let proposalId = '';

beforeAll(async () => {
  server = await startInProcess();
  tokens.admin = (await server.opspilot.adminToken()).token;
  tokens.viewer = (
    await server.opspilot.governance.tokens.issue({
      subject: 'vic',
      grants: [{ role: 'viewer', scope: { namespace: '*' } }],
    })
  ).token;
  const apply = await fetch(`${server.url}/api/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      documents: [
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'Component',
          metadata: { name: 'echo', namespace: 'default' },
          spec: { type: 'worker', run: { command: '/bin/true' } },
        },
        ...['dev', 'prod'].map((environment) => ({
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'ReleaseBinding',
          metadata: { name: `echo-${environment}`, namespace: 'default' },
          spec: { component: 'echo', environment, replicas: 2, state: 'Undeploy' },
        })),
      ],
    }),
  });
  // The production binding waits for approval: a real pending proposal for the decision routes.
  proposalId = ((await apply.json()) as { proposal: { id: string } }).proposal.id;
  document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as OpenApi;
}, 30_000);

afterAll(async () => {
  await server.close();
});

describe('REST fuzz', () => {
  it(`answers every route without a server error, refuses with problem+json and audits (seed ${seed})`, async () => {
    const audit = server.opspilot.governance.audit;
    const failures: string[] = [];
    let sent = 0;
    let routeIndex = 0;
    const routes = Object.entries(document.paths)
      .flatMap(([path, operations]) =>
        Object.entries(operations).map(([method, operation]) => ({ path, method, operation })),
      )
      .filter(({ path }) => !path.startsWith('/mcp/'));
    expect(routes.length).toBeGreaterThan(90);
    for (const { path, method, operation } of routes) {
      routeIndex += 1;
      const id = `${method.toUpperCase()} ${path}`;
      for (const [who, token] of Object.entries(tokens)) {
        const fuzzer = new Fuzzer(
          document,
          seed * 1000 + routeIndex * 2 + (who === 'admin' ? 0 : 1),
          proposalId,
        );
        for (let attempt = 0; attempt < perRoute; attempt += 1) {
          const wellFormed = attempt === 0 && !(who === 'admin' && malformedOnly.has(id));
          const request = buildRequest(fuzzer, path, method, operation, wellFormed);
          const [latest] = await audit.list({ limit: 1 });
          const response = await fetch(`${server.url}${request.url}`, {
            method: request.method,
            headers: { ...request.headers, authorization: `Bearer ${token}` },
            ...(request.body === undefined ? {} : { body: request.body }),
          });
          sent += 1;
          const type = response.headers.get('content-type') ?? '';
          // A live stream stays open: its status and headers are the answer.
          const text = type.startsWith('text/event-stream') ? '' : await response.text();
          if (type.startsWith('text/event-stream')) await response.body?.cancel();
          const where = `[seed ${seed}] ${who} ${request.method} ${request.url.slice(0, 200)} ${request.body?.slice(0, 120) ?? ''} → ${response.status}`;
          if (response.status >= 500) failures.push(`${where}: server error ${text.slice(0, 300)}`);
          if (response.status >= 400 && !notProblemJson.has(id)) {
            const problem = (type.includes('application/problem+json') ? JSON.parse(text) : {}) as {
              detail?: unknown;
              hint?: unknown;
            };
            if (typeof problem.detail !== 'string' || typeof problem.hint !== 'string')
              failures.push(`${where}: a refusal without detail and hint: ${text.slice(0, 300)}`);
          }
          if (response.status >= 400 || !publicRoutes.has(id)) {
            const subject = who === 'admin' ? 'admin' : 'vic';
            const records = await audit.list({ principal: subject, limit: 20 });
            if (!records.some((record) => record.seq > (latest?.seq ?? 0)))
              failures.push(`${where}: no audit record by ${subject}`);
          }
        }
      }
    }
    expect(sent).toBe(routes.length * 2 * perRoute);
    expect(failures).toEqual([]);
  }, 600_000);
});
