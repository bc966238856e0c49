// The OpenFeature provider against a real listening opspilot API: a replica's credential, the short cache and its
// refresh (a changed flag is seen after the refresh interval, not before), and the code default on failure.
import type { AddressInfo } from 'node:net';
import { OpenFeature, ErrorCode, StandardResolutionReasons } from '@openfeature/server-sdk';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/create-api.js';
import { systemClock } from '../../src/core/clock.js';
import { randomIds } from '../../src/core/ids.js';
import { OfrepProvider, ofrepProviderForReplica } from '../../src/flags/openfeature-provider.js';
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
let url: string;
let adminToken: string;

const countFlag = (prodVariant: string) => `
apiVersion: opspilot.dev/v1alpha1
kind: FeatureFlag
metadata: { name: recommendation-count, namespace: shop }
spec:
  type: number
  variants: { few: 2, many: 5 }
  defaultVariant: few
  targeting:
    - { environments: [prod], tenants: [gold], variant: ${prodVariant} }
`;

async function apply(text: string): Promise<void> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/apply',
    payload: { documents: yamlDocuments(text) },
    headers: { authorization: `Bearer ${adminToken}` },
  });
  expect(response.statusCode, response.body).toBe(200);
}

/** The replica's environment as the local runtime injects it. */
function replicaEnvironment(): Record<string, string> {
  return {
    OPSPILOT_FLAGS_URL: url,
    OPSPILOT_FLAGS_TOKEN: governance.tokens.flagCredential({
      namespace: 'shop',
      component: 'recommendation',
      environment: 'prod',
    }),
    OPSPILOT_NAMESPACE: 'shop',
    OPSPILOT_COMPONENT: 'recommendation',
    OPSPILOT_ENVIRONMENT: 'prod',
  };
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
  app = await createApi({
    governance: governance.gateway,
    logger: pino({ level: 'silent' }),
    version: 'test',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await apply(`
apiVersion: opspilot.dev/v1alpha1
kind: Namespace
metadata: { name: shop }
`);
  await apply(countFlag('few'));
});

afterAll(async () => {
  await OpenFeature.close();
  await app.close();
  await subject.dispose();
});

describe('OfrepProvider', () => {
  it('evaluates through the OpenFeature client as the replica, and sees a change only after the refresh', async () => {
    let now = 1_000_000;
    const statuses: number[] = [];
    const provider = ofrepProviderForReplica(replicaEnvironment(), { refreshMs: 5000 });
    expect(provider).toBeInstanceOf(OfrepProvider);
    const observed = new OfrepProvider({
      baseUrl: url,
      token: replicaEnvironment().OPSPILOT_FLAGS_TOKEN,
      context: { namespace: 'shop', component: 'recommendation', environment: 'prod' },
      refreshMs: 5000,
      now: () => now,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        statuses.push(response.status);
        return response;
      },
    });
    await OpenFeature.setProviderAndWait('refresh', observed);
    const client = OpenFeature.getClient('refresh');
    const gold = { targetingKey: 'user-1', tenant: 'gold' };

    expect(await client.getNumberDetails('recommendation-count', 3, gold)).toMatchObject({
      value: 2,
      variant: 'few',
      reason: StandardResolutionReasons.TARGETING_MATCH,
    });
    expect(statuses).toEqual([200]);

    await apply(countFlag('many'));
    now += 4999;
    expect(await client.getNumberValue('recommendation-count', 3, gold)).toBe(2);
    expect(statuses).toEqual([200]);

    now += 1;
    expect(await client.getNumberValue('recommendation-count', 3, gold)).toBe(5);
    // Another tenant is another context: its own request, and the default variant.
    expect(await client.getNumberValue('recommendation-count', 3, { tenant: 'free' })).toBe(2);
    expect(statuses).toEqual([200, 200, 200]);

    now += 5000;
    expect(await client.getNumberValue('recommendation-count', 3, gold)).toBe(5);
    expect(statuses).toEqual([200, 200, 200, 304]);
  });

  it('answers the code default with the error for a missing flag and for a flag of another type', async () => {
    const provider = ofrepProviderForReplica(replicaEnvironment());
    if (provider === undefined) throw new Error('no provider');
    await OpenFeature.setProviderAndWait('errors', provider);
    const client = OpenFeature.getClient('errors');
    expect(await client.getBooleanDetails('no-such-flag', true)).toMatchObject({
      value: true,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.FLAG_NOT_FOUND,
    });
    expect(await client.getStringDetails('recommendation-count', 'three')).toMatchObject({
      value: 'three',
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
  });

  it('falls back to the code default when the server cannot be reached or refuses the credential', async () => {
    const closed = await createApi({
      governance: governance.gateway,
      logger: pino({ level: 'silent' }),
      version: 'test',
    });
    await closed.listen({ host: '127.0.0.1', port: 0 });
    const deadUrl = `http://127.0.0.1:${(closed.server.address() as AddressInfo).port}`;
    await closed.close();
    await OpenFeature.setProviderAndWait(
      'unreachable',
      new OfrepProvider({ baseUrl: deadUrl, token: replicaEnvironment().OPSPILOT_FLAGS_TOKEN }),
    );
    const unreachable = await OpenFeature.getClient('unreachable').getNumberDetails(
      'recommendation-count',
      3,
    );
    expect(unreachable).toMatchObject({
      value: 3,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.GENERAL,
    });
    expect(unreachable.errorMessage).toMatch(/^flags could not be fetched/);

    await OpenFeature.setProviderAndWait(
      'refused',
      new OfrepProvider({ baseUrl: url, token: 'opflag1.e30.AAAA', context: { namespace: 'shop' } }),
    );
    const refused = await OpenFeature.getClient('refused').getNumberDetails('recommendation-count', 3);
    expect(refused).toMatchObject({ value: 3, reason: StandardResolutionReasons.ERROR });
    expect(refused.errorMessage).toContain('HTTP 401');
  });

  it('is not made outside opspilot (no OPSPILOT_FLAGS_URL)', () => {
    expect(ofrepProviderForReplica({})).toBeUndefined();
  });
});
