// The REST API through Fastify's inject(): contracts, problem+json errors with field paths, OpenAPI.
import type { FastifyInstance, InjectOptions } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/create-api.js';
import { systemClock } from '../../src/core/clock.js';
import { randomIds } from '../../src/core/ids.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import { serviceManifest, yamlDocuments } from '../helpers/manifests.js';
import { testGovernance, tokenFor } from '../helpers/governance.js';
import { sqliteStore, type TestStore } from '../helpers/state-stores.js';
import { idleRuntime } from '../helpers/idle-runtime.js';

let subject: TestStore;
let app: FastifyInstance;
let adminToken: string;

/** app.inject as an authenticated platform-admin. */
function inject(options: InjectOptions) {
  return app.inject({ ...options, headers: { authorization: `Bearer ${adminToken}`, ...options.headers } });
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
  const governance = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
  adminToken = await tokenFor(governance, 'admin', 'platform-admin');
  app = await createApi({
    governance: governance.gateway,
    logger: pino({ level: 'silent' }),
    version: 'test',
  });
});

afterAll(async () => {
  await app.close();
  await subject.dispose();
});

describe('REST API', () => {
  it('answers health without a body', async () => {
    const response = await inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', version: 'test' });
  });

  it('applies documents and reads a component with its status contract', async () => {
    const apply = await inject({
      method: 'POST',
      url: '/api/v1/apply',
      payload: { documents: yamlDocuments(serviceManifest({ cwd: 'echo' })), baseDir: '/srv' },
    });
    expect(apply.statusCode).toBe(200);
    expect(apply.json<{ items: unknown[] }>().items).toHaveLength(4);

    const component = await inject({ method: 'GET', url: '/api/v1/namespaces/default/components/echo' });
    expect(component.statusCode).toBe(200);
    const body = component.json<{ apiVersion: string; kind: string; status: { environments: unknown[] } }>();
    expect(body.apiVersion).toBe('opspilot.dev/v1alpha1');
    expect(body.kind).toBe('Component');
    expect(body.status.environments[0]).toMatchObject({
      environment: 'dev',
      release: 'echo-1',
      desiredReplicas: 3,
      readyReplicas: 0,
      restarts: 0,
      endpoint: null,
      phase: 'Progressing',
    });

    const list = await inject({ method: 'GET', url: '/api/v1/releasebindings?component=echo' });
    expect(list.json<{ kind: string; items: unknown[] }>().kind).toBe('List');
    expect(list.json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('accepts YAML bodies for apply', async () => {
    const response = await inject({
      method: 'POST',
      url: '/api/v1/apply',
      headers: { 'content-type': 'application/yaml' },
      payload:
        'apiVersion: opspilot.dev/v1alpha1\nkind: Environment\nmetadata: { name: qa }\nspec: { production: false }\n',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      dryRun: false,
      items: [{ kind: 'Environment', namespace: null, name: 'qa', action: 'created', document: 0 }],
      proposal: { action: 'resources.apply', status: 'succeeded', createdBy: { subject: 'admin' } },
    });
  });

  it('reports invalid documents as problem+json with document and field path', async () => {
    const text = serviceManifest({}).replace('replicas: 3', 'replicas: -1');
    const response = await inject({
      method: 'POST',
      url: '/api/v1/apply',
      payload: { documents: yamlDocuments(text), baseDir: '/srv' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({
      status: 400,
      code: 'invalid',
      detail: '1 problem in 1 document; nothing was applied',
      errors: [{ document: 1, path: 'spec.replicas', message: expect.stringContaining('>=0') as string }],
    });
  });

  it('reports request-shape errors with the failing part of the request', async () => {
    const response = await inject({ method: 'POST', url: '/api/v1/apply', payload: { docs: [] } });
    expect(response.statusCode).toBe(400);
    const body = response.json<{ errors: { path: string }[] }>();
    expect(body.errors.map((error) => error.path)).toEqual(expect.arrayContaining(['body.documents']));
    const malformed = await inject({
      method: 'POST',
      url: '/api/v1/apply',
      headers: { 'content-type': 'application/json' },
      payload: '{"documents": [',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toContain('application/problem+json');
    const badYaml = await inject({
      method: 'POST',
      url: '/api/v1/apply',
      headers: { 'content-type': 'application/yaml' },
      payload: 'a: [',
    });
    expect(badYaml.statusCode).toBe(400);
    expect(badYaml.json<{ detail: string }>().detail).toContain('the YAML body does not parse');
  });

  it('answers 404 with a hint, and 409 when a delete would break references', async () => {
    const missing = await inject({ method: 'GET', url: '/api/v1/namespaces/default/components/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      code: 'not_found',
      hint: expect.stringContaining('opspilot get components') as string,
    });
    const conflict = await inject({ method: 'DELETE', url: '/api/v1/environments/dev' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({
      code: 'conflict',
      detail: expect.stringContaining('echo-dev') as string,
    });
  });

  it('creates and updates one resource with PUT, checking the URL against the document', async () => {
    const document = {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'Project',
      metadata: { name: 'web' },
      spec: {},
    };
    const created = await inject({
      method: 'PUT',
      url: '/api/v1/namespaces/default/projects/web',
      payload: document,
    });
    expect(created.statusCode, created.body).toBe(200);
    expect(created.json<{ items: { action: string }[] }>().items[0]?.action).toBe('created');
    const mismatch = await inject({
      method: 'PUT',
      url: '/api/v1/namespaces/default/projects/other',
      payload: document,
    });
    expect(mismatch.statusCode).toBe(400);
  });

  it('lists events newest first', async () => {
    const response = await inject({
      method: 'GET',
      url: '/api/v1/namespaces/default/events?component=echo',
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ kind: string; items: { reason: string }[] }>();
    expect(body.kind).toBe('EventList');
    expect(body.items.map((event) => event.reason)).toContain('ReleaseCreated');
    const invalid = await inject({ method: 'GET', url: '/api/v1/events?since=yesterday' });
    expect(invalid.statusCode).toBe(400);
  });

  it('publishes an OpenAPI document covering every resource kind', async () => {
    const response = await inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(document.openapi).toMatch(/^3\./);
    for (const path of [
      '/api/v1/apply',
      '/api/v1/namespaces',
      '/api/v1/environments/{name}',
      '/api/v1/deploymentpipelines',
      '/api/v1/namespaces/{namespace}/projects',
      '/api/v1/namespaces/{namespace}/components/{name}',
      '/api/v1/namespaces/{namespace}/components/{name}/status',
      '/api/v1/namespaces/{namespace}/releases',
      '/api/v1/namespaces/{namespace}/releasebindings/{name}',
      '/api/v1/namespaces/{namespace}/workflows',
      '/api/v1/namespaces/{namespace}/workflowruns/{name}/logs',
      '/api/v1/events',
    ]) {
      expect(document.paths).toHaveProperty([path]);
    }
  });
});
