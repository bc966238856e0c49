// The platform service over a real state store (SQLite and PostgreSQL): apply, references, releases, deletes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { ConflictError, InvalidError, NotFoundError } from '../../src/core/errors.js';
import { randomIds } from '../../src/core/ids.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import type { ComponentStatus, EnvironmentStatus } from '../../src/platform/contracts.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import type { ReleaseSpec } from '../../src/platform/resource-kinds.js';
import type { WorkloadStatus } from '../../src/runtime/ports.js';
import { serviceManifest, yamlDocuments } from '../helpers/manifests.js';
import { stateStores, type TestStore } from '../helpers/state-stores.js';

/** A runtime that reports whatever the test puts in it. */
class ReportedRuntime {
  readonly kind = 'reported';
  nodes(): [] {
    return [];
  }
  readonly statuses = new Map<string, WorkloadStatus>();
  status(id: string): WorkloadStatus | undefined {
    return this.statuses.get(id);
  }
  logs(): [] {
    return [];
  }
}

async function issuesOf(
  promise: Promise<unknown>,
): Promise<{ document?: number; path: string; message: string }[]> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InvalidError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the apply to be refused');
}

describe.each(stateStores)('PlatformService on %s', (_name, open) => {
  let subject: TestStore;
  let platform: PlatformService;
  let runtime: ReportedRuntime;
  let changes: number;

  beforeEach(async () => {
    subject = await open();
    runtime = new ReportedRuntime();
    changes = 0;
    platform = new PlatformService({
      store: subject.store,
      runtime,
      clock: systemClock,
      ids: randomIds,
      onChange: () => {
        changes += 1;
      },
    });
    await bootstrapPlatform(platform);
    changes = 0;
  });
  afterEach(async () => {
    await subject.dispose();
  });

  it('seeds the default namespace, environments and pipeline once', async () => {
    expect((await platform.list('Namespace')).map((item) => item.metadata.name)).toEqual(['default']);
    const environments = await platform.list('Environment');
    expect(
      environments.map((item) => [item.metadata.name, (item.spec as { production: boolean }).production]),
    ).toEqual([
      ['dev', false],
      ['prod', true],
      ['staging', false],
    ]);
    const pipeline = await platform.get('DeploymentPipeline', '', 'default');
    expect(
      (pipeline.spec as { stages: { environment: string }[] }).stages.map((stage) => stage.environment),
    ).toEqual(['dev', 'staging', 'prod']);
    expect(await bootstrapPlatform(platform)).toEqual([]);
  });

  it('applies the documented shape: implicit project, first release, binding following it', async () => {
    const outcome = await platform.apply(yamlDocuments(serviceManifest({ cwd: './echo' })), {
      baseDir: '/srv/app',
    });
    expect(outcome.items.map((item) => `${item.kind}/${item.name} ${item.action}`)).toEqual([
      'Project/shop created',
      'Component/echo created',
      'Release/echo-1 created',
      'ReleaseBinding/echo-dev created',
    ]);
    expect(changes).toBe(1);
    const release = await platform.get('Release', 'default', 'echo-1');
    expect((release.spec as ReleaseSpec).template.run.cwd).toBe('/srv/app/echo');
    const component = await platform.get('Component', 'default', 'echo');
    const status = component.status as ComponentStatus;
    expect(status.latestRelease).toBe('echo-1');
    expect(status.environments).toEqual([
      expect.objectContaining({
        environment: 'dev',
        binding: 'echo-dev',
        release: 'echo-1',
        desiredReplicas: 3,
        readyReplicas: 0,
        phase: 'Progressing',
        endpoint: null,
      }),
    ]);
  });

  it('reports live status from the runtime in the status contract', async () => {
    await platform.apply(yamlDocuments(serviceManifest({})), { baseDir: '/srv' });
    const binding = await platform.get('ReleaseBinding', 'default', 'echo-dev');
    runtime.statuses.set(binding.metadata.uid, {
      id: binding.metadata.uid,
      revision: 'echo-1',
      desiredReplicas: 3,
      readyReplicas: 3,
      updatedReplicas: 3,
      restarts: 2,
      endpoint: 'http://127.0.0.1:41234',
      phase: 'Running',
      message: null,
      replicas: [],
    });
    const status = (await platform.componentStatus('default', 'echo')).environments[0];
    expect(status).toMatchObject({
      environment: 'dev',
      release: 'echo-1',
      desiredReplicas: 3,
      readyReplicas: 3,
      restarts: 2,
      endpoint: 'http://127.0.0.1:41234',
      phase: 'Running',
    });
    const bindingStatus = (await platform.get('ReleaseBinding', 'default', 'echo-dev'))
      .status as EnvironmentStatus;
    expect(bindingStatus.endpoint).toBe('http://127.0.0.1:41234');
  });

  it('reports unchanged, configures, and releases only when the component spec changes', async () => {
    const documents = yamlDocuments(serviceManifest({}));
    await platform.apply(documents, { baseDir: '/srv' });
    const again = await platform.apply(documents, { baseDir: '/srv' });
    expect(again.items.map((item) => item.action)).toEqual(['unchanged', 'unchanged']);

    const scaled = await platform.apply(yamlDocuments(serviceManifest({ replicas: 1 })), { baseDir: '/srv' });
    expect(scaled.items.map((item) => `${item.kind} ${item.action}`)).toEqual([
      'Component unchanged',
      'ReleaseBinding configured',
    ]);

    const changed = await platform.apply(
      yamlDocuments(serviceManifest({ replicas: 1, env: { GREETING: 'hello' } })),
      {
        baseDir: '/srv',
      },
    );
    expect(changed.items.map((item) => `${item.kind}/${item.name} ${item.action}`)).toEqual([
      'Component/echo configured',
      'Release/echo-2 created',
      'ReleaseBinding/echo-dev unchanged',
    ]);
    expect(
      (await platform.list('Release', { namespace: 'default' })).map((item) => item.metadata.name),
    ).toEqual(['echo-1', 'echo-2']);
    const release = await platform.get('Release', 'default', 'echo-1');
    expect((release.spec as ReleaseSpec).template.run.env).toEqual({ GREETING: 'hi' }); // immutable snapshot
  });

  it('applies nothing when one document is invalid, and names document and field', async () => {
    const text = serviceManifest({}).replace('replicas: 3', 'replicas: three');
    const issues = await issuesOf(platform.apply(yamlDocuments(text), { baseDir: '/srv' }));
    expect(issues).toEqual([
      { document: 1, path: 'spec.replicas', message: expect.stringContaining('expected number') as string },
    ]);
    expect(await platform.list('Component', { namespace: 'default' })).toEqual([]);
    expect(await platform.list('Project', { namespace: 'default' })).toEqual([]);
  });

  it('applies nothing when a reference is broken, listing what exists', async () => {
    const text = serviceManifest({}).replace('environment: dev', 'environment: qa');
    const issues = await issuesOf(platform.apply(yamlDocuments(text), { baseDir: '/srv' }));
    expect(issues).toEqual([
      {
        document: 1,
        path: 'spec.environment',
        message: 'environment qa does not exist (known: dev, prod, staging)',
      },
    ]);
    expect(await platform.list('Component', { namespace: 'default' })).toEqual([]);
    expect(changes).toBe(0);
  });

  it('names envelope problems: apiVersion, kind, unknown fields, names, relative paths', async () => {
    const issues = await issuesOf(
      platform.apply(
        yamlDocuments(`apiVersion: opspilot.dev/v1
kind: Component
metadata: { name: a }
spec: {}
---
apiVersion: opspilot.dev/v1alpha1
kind: Gadget
metadata: { name: b }
---
apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: Bad_Name, namspace: x }
spec: { run: { command: node } }
---
apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: rel }
spec: { type: worker, run: { command: node, cwd: ./here, argz: [] } }
---
apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: svc }
spec: { run: { command: node, cwd: ./here } }
`),
      ),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        { document: 0, path: 'apiVersion', message: 'must be opspilot.dev/v1alpha1' },
        { document: 1, path: 'kind', message: expect.stringContaining("unknown kind 'Gadget'") as string },
        { document: 2, path: 'metadata.name', message: expect.stringContaining('lowercase') as string },
        {
          document: 2,
          path: 'metadata.namspace',
          message: expect.stringContaining('unknown field') as string,
        },
        { document: 3, path: 'spec.run.argz', message: expect.stringContaining('unknown field') as string },
        {
          document: 4,
          path: 'spec.port',
          message: expect.stringContaining('a service needs a port') as string,
        },
      ]),
    );
    const relative = await issuesOf(
      platform.apply(
        yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: rel }
spec: { type: worker, run: { command: node, cwd: ./here } }
`),
      ),
    );
    expect(relative).toEqual([
      {
        document: 0,
        path: 'spec.run.cwd',
        message: expect.stringContaining("relative path './here'") as string,
      },
    ]);
  });

  it('refuses a second binding of the same component to the same environment, and changes of its target', async () => {
    await platform.apply(yamlDocuments(serviceManifest({})), { baseDir: '/srv' });
    const duplicate = yamlDocuments(serviceManifest({})).slice(1) as { metadata: { name: string } }[];
    if (duplicate[0] !== undefined) duplicate[0].metadata.name = 'echo-dev-2';
    expect(await issuesOf(platform.apply(duplicate))).toEqual([
      expect.objectContaining({
        path: 'spec.environment',
        message: expect.stringContaining('already bound') as string,
      }),
    ]);
    const moved = serviceManifest({}).replace('environment: dev', 'environment: staging');
    expect(await issuesOf(platform.apply(yamlDocuments(moved), { baseDir: '/srv' }))).toEqual([
      expect.objectContaining({
        path: 'spec.environment',
        message: expect.stringContaining('cannot change') as string,
      }),
    ]);
  });

  it('requires an existing namespace', async () => {
    const issues = await issuesOf(
      platform.apply(yamlDocuments(serviceManifest({ namespace: 'shop' })), { baseDir: '/' }),
    );
    expect(issues[0]).toEqual({
      document: 0,
      path: 'metadata.namespace',
      message: 'namespace shop does not exist; apply a Namespace named shop first',
    });
  });

  it('validates without changing anything on a dry run', async () => {
    const outcome = await platform.apply(yamlDocuments(serviceManifest({})), {
      baseDir: '/srv',
      dryRun: true,
    });
    expect(outcome.dryRun).toBe(true);
    expect(outcome.items).toHaveLength(4);
    expect(await platform.list('Component', { namespace: 'default' })).toEqual([]);
    expect(changes).toBe(0);
  });

  it('deletes a component with its releases and bindings, and refuses deletes that break references', async () => {
    await platform.apply(yamlDocuments(serviceManifest({})), { baseDir: '/srv' });
    await expect(platform.delete('Environment', '', 'dev')).rejects.toBeInstanceOf(ConflictError);
    await expect(platform.delete('Project', 'default', 'shop')).rejects.toBeInstanceOf(ConflictError);
    await expect(platform.delete('Release', 'default', 'echo-1')).rejects.toThrow(/latest release/);
    await expect(platform.delete('Namespace', '', 'default')).rejects.toThrow(
      /still used by resources in it/,
    );
    const deleted = await platform.delete('Component', 'default', 'echo');
    expect(deleted.map((item) => `${item.kind}/${item.name}`)).toEqual([
      'Component/echo',
      'ReleaseBinding/echo-dev',
      'Release/echo-1',
    ]);
    await expect(platform.get('ReleaseBinding', 'default', 'echo-dev')).rejects.toBeInstanceOf(NotFoundError);
    await platform.delete('Project', 'default', 'shop');
  });

  it('refuses to delete a component while one of its builds runs', async () => {
    const documents = yamlDocuments(serviceManifest({})) as { spec: Record<string, unknown> }[];
    if (documents[0] !== undefined) documents[0].spec.build = { command: 'true' };
    await platform.apply(documents, { baseDir: '/srv' });
    await platform.apply(
      yamlDocuments(
        'apiVersion: opspilot.dev/v1alpha1\nkind: WorkflowRun\nmetadata: { name: b1 }\nspec: { component: echo }\n',
      ),
    );
    const run = await platform.get('WorkflowRun', 'default', 'b1');
    await subject.store.resources.setStatus(
      { kind: 'WorkflowRun', namespace: 'default', name: 'b1' },
      { ...(run.status as object), phase: 'Running' },
      new Date().toISOString(),
    );
    await expect(platform.delete('Component', 'default', 'echo')).rejects.toThrow(/running builds.*b1/);
  });

  it('accepts a workflow run only for something it can build', async () => {
    await platform.apply(yamlDocuments(serviceManifest({})), { baseDir: '/srv' });
    const run = `apiVersion: opspilot.dev/v1alpha1
kind: WorkflowRun
metadata: { name: echo-build-1 }
spec: { component: echo }
`;
    expect(await issuesOf(platform.apply(yamlDocuments(run)))).toEqual([
      expect.objectContaining({
        path: 'spec.component',
        message: expect.stringContaining('has no spec.build') as string,
      }),
    ]);
  });
});
