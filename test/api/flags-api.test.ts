// OFREP evaluation of FeatureFlags through the REST edge: a replica's flag credential evaluates its own
// namespace, component and environment and nothing else; evaluations are audited like every read.
import type { FastifyInstance, InjectOptions } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/create-api.js';
import { systemClock } from '../../src/core/clock.js';
import { randomIds } from '../../src/core/ids.js';
import type { Governance } from '../../src/governance/governance.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import { testGovernance, tokenFor } from '../helpers/governance.js';
import { idleRuntime } from '../helpers/idle-runtime.js';
import { yamlDocuments } from '../helpers/manifests.js';
import { sqliteStore, type TestStore } from '../helpers/state-stores.js';

let subject: TestStore;
let app: FastifyInstance;
let governance: Governance;
let adminToken: string;
let recommendation: string;

const manifests = `
apiVersion: opspilot.dev/v1alpha1
kind: Namespace
metadata: { name: shop }
---
apiVersion: opspilot.dev/v1alpha1
kind: Namespace
metadata: { name: bank }
---
apiVersion: opspilot.dev/v1alpha1
kind: FeatureFlag
metadata: { name: recommendation-strategy, namespace: shop }
spec:
  type: string
  variants: { popular: popular, similar: similar }
  defaultVariant: popular
  targeting:
    - { environments: [prod], tenants: [gold], variant: similar }
---
apiVersion: opspilot.dev/v1alpha1
kind: FeatureFlag
metadata: { name: recommendation-count, namespace: shop }
spec:
  type: number
  variants: { few: 2, many: 5 }
  defaultVariant: few
  targeting:
    - { environments: [prod], variant: many }
---
apiVersion: opspilot.dev/v1alpha1
kind: FeatureFlag
metadata: { name: vault-open, namespace: bank }
spec: { type: boolean, variants: { on: true, off: false }, defaultVariant: off }
`;

function asAdmin(options: InjectOptions) {
  return app.inject({ ...options, headers: { authorization: `Bearer ${adminToken}`, ...options.headers } });
}

function evaluate(
  key: string | undefined,
  context: Record<string, unknown>,
  token: string | null = recommendation,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: key === undefined ? '/ofrep/v1/evaluate/flags' : `/ofrep/v1/evaluate/flags/${key}`,
    payload: { context },
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });
}

beforeAll(async () => {
  subject = await sqliteStore();
  const platform = new PlatformService({
    store: subject.store,
    runtime: idleRuntime,
    clock: systemClock,
    ids: randomIds,
  });
  await bootstrapPlatform(platform);
  governance = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
  adminToken = await tokenFor(governance, 'admin', 'platform-admin');
  recommendation = governance.tokens.flagCredential({
    namespace: 'shop',
    component: 'recommendation',
    environment: 'prod',
  });
  app = await createApi({
    governance: governance.gateway,
    logger: pino({ level: 'silent' }),
    version: 'test',
  });
  // One apply changes one namespace: the namespaces, then each one's flags.
  const documents = yamlDocuments(manifests) as { kind: string; metadata: { namespace?: string } }[];
  for (const part of [
    documents.filter((document) => document.kind === 'Namespace'),
    documents.filter((document) => document.metadata.namespace === 'shop'),
    documents.filter((document) => document.metadata.namespace === 'bank'),
  ]) {
    const applied = await asAdmin({ method: 'POST', url: '/api/v1/apply', payload: { documents: part } });
    expect(applied.statusCode, applied.body).toBe(200);
  }
});

afterAll(async () => {
  await app.close();
  await subject.dispose();
});

describe('OFREP with a replica flag credential', () => {
  it('evaluates a flag of its own namespace as its own environment (scope from the credential)', async () => {
    const response = await evaluate('recommendation-strategy', { targetingKey: 'user-1', tenant: 'gold' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      key: 'recommendation-strategy',
      value: 'similar',
      variant: 'similar',
      reason: 'TARGETING_MATCH',
      metadata: { type: 'string', generation: 1 },
    });
    const other = await evaluate('recommendation-strategy', { tenant: 'free' });
    expect(other.json()).toMatchObject({ value: 'popular', reason: 'DEFAULT' });
  });

  it('is refused (403) for another namespace, another component or another environment', async () => {
    for (const context of [{ namespace: 'bank' }, { component: 'checkout' }, { environment: 'staging' }]) {
      const response = await evaluate('vault-open', context);
      expect(response.statusCode, JSON.stringify(context)).toBe(403);
      expect(response.json<{ detail: string }>().detail).toContain(
        'outside the scopes of workload:shop/recommendation@prod',
      );
    }
  });

  it('opens nothing but the OFREP endpoints', async () => {
    const list = await app.inject({
      method: 'GET',
      url: '/api/v1/namespaces/shop/featureflags',
      headers: { authorization: `Bearer ${recommendation}` },
    });
    expect(list.statusCode).toBe(401);
    expect(list.json<{ detail: string }>().detail).toBe(
      'a flag credential is accepted by the OFREP endpoints only',
    );
  });

  it('answers 401 without a credential and with a forged one', async () => {
    expect((await evaluate('recommendation-strategy', {}, null)).statusCode).toBe(401);
    const forged = governance.tokens
      .flagCredential({ namespace: 'bank', component: 'recommendation', environment: 'prod' })
      .replace(/\.[^.]+$/, recommendation.slice(recommendation.lastIndexOf('.')));
    const response = await evaluate('vault-open', { namespace: 'bank' }, forged);
    expect(response.statusCode).toBe(401);
    expect(response.json<{ detail: string }>().detail).toBe('the flag credential was rejected');
  });

  it('reports a missing flag (404 FLAG_NOT_FOUND) and a context field of the wrong type (400)', async () => {
    const missing = await evaluate('no-such-flag', {});
    expect(missing.statusCode).toBe(404);
    // OFREP's fields, inside the problem+json every refusal of the API is.
    expect(missing.headers['content-type']).toContain('application/problem+json');
    expect(missing.json()).toMatchObject({
      status: 404,
      code: 'not_found',
      detail: 'flag no-such-flag does not exist',
      key: 'no-such-flag',
      errorCode: 'FLAG_NOT_FOUND',
      errorDetails: 'flag no-such-flag does not exist',
    });
    const invalid = await evaluate('recommendation-strategy', { tenant: 42 });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
  });

  it('bulk-evaluates the namespace with an ETag, and answers 304 to If-None-Match', async () => {
    const response = await evaluate(undefined, { tenant: 'free' });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ flags: { key: string; value: unknown }[] }>();
    expect(body.flags.map((flag) => [flag.key, flag.value]).sort()).toEqual([
      ['recommendation-count', 5],
      ['recommendation-strategy', 'popular'],
    ]);
    const etag = response.headers.etag;
    expect(typeof etag).toBe('string');
    const again = await evaluate(undefined, { tenant: 'free' }, recommendation, {
      'if-none-match': String(etag),
    });
    expect(again.statusCode).toBe(304);
    const otherTenant = await evaluate(undefined, { tenant: 'gold' }, recommendation, {
      'if-none-match': String(etag),
    });
    expect(otherTenant.statusCode).toBe(200);
  });

  it('audits evaluations and refusals under the workload subject', async () => {
    const audit = await asAdmin({ method: 'GET', url: '/api/v1/audit?action=flags.read&limit=1000' });
    const items = audit.json<{ items: { principal: string; decision: string; target: string }[] }>().items;
    const mine = items.filter((item) => item.principal === 'workload:shop/recommendation@prod');
    expect(
      mine.some((item) => item.decision === 'allow' && item.target === 'shop/*/recommendation@prod'),
    ).toBe(true);
    expect(mine.some((item) => item.decision === 'deny')).toBe(true);
  });
});

describe('OFREP with user tokens', () => {
  it('a viewer of a namespace evaluates there when the context names it, and only there', async () => {
    const viewer = await tokenFor(governance, 'vera', 'viewer', 'shop');
    const inside = await evaluate('recommendation-count', { namespace: 'shop', environment: 'dev' }, viewer);
    expect(inside.json()).toMatchObject({ value: 2, reason: 'DEFAULT' });
    const outside = await evaluate('vault-open', { namespace: 'bank' }, viewer);
    expect(outside.statusCode).toBe(403);
  });

  it('an admin of every namespace must name one', async () => {
    const response = await evaluate('recommendation-count', {}, adminToken);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      errorCode: 'INVALID_CONTEXT',
      errorDetails: 'the evaluation context names no namespace',
    });
  });
});

describe('FeatureFlag apply', () => {
  it('refuses an invalid flag with the field path', async () => {
    const response = await asAdmin({
      method: 'POST',
      url: '/api/v1/apply',
      payload: {
        documents: yamlDocuments(`
apiVersion: opspilot.dev/v1alpha1
kind: FeatureFlag
metadata: { name: broken, namespace: shop }
spec: { type: boolean, variants: { on: true, off: 'no' }, defaultVariant: maybe }
`),
      },
    });
    expect(response.statusCode).toBe(400);
    expect(
      response
        .json<{ errors: { path: string }[] }>()
        .errors.map((error) => error.path)
        .sort(),
    ).toEqual(['spec.defaultVariant', 'spec.variants.off']);
  });
});
