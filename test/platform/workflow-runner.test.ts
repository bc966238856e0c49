// Build workflows run as real processes: output is stored in order, success releases, failure says why. The
// steps run under the isolation this machine resolves for `auto` (docs/runtime.md, "Build steps").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { randomIds } from '../../src/core/ids.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import type { ReleaseSpec, WorkflowRunStatus } from '../../src/platform/resource-kinds.js';
import { WorkflowRunner } from '../../src/platform/workflow-runner.js';
import { createProcessTable } from '../../src/runtime/local/process-table.js';
import { localRuntimeConfigSchema } from '../../src/config/config-schema.js';
import { resolveIsolation, WorkloadUserIds } from '../../src/runtime/local/isolation.js';
import { LocalStepExecutor } from '../../src/runtime/local/step-executor.js';
import { yamlDocuments } from '../helpers/manifests.js';
import { sqliteStore, type TestStore } from '../helpers/state-stores.js';
import { waitFor } from '../helpers/wait-for.js';
import { idleRuntime } from '../helpers/idle-runtime.js';

let subject: TestStore;
let platform: PlatformService;
let runner: WorkflowRunner;
let dataDir: string;

const node = JSON.stringify(process.execPath);

beforeEach(async () => {
  subject = await sqliteStore();
  dataDir = mkdtempSync(join(tmpdir(), 'opspilot-workflow-data-'));
  const config = localRuntimeConfigSchema.parse({});
  const isolation = resolveIsolation(config, dataDir, process.env.PATH ?? '');
  const userIds =
    isolation.mode === 'user' ? new WorkloadUserIds(config.userIdStart, config.userIdCount) : undefined;
  runner = new WorkflowRunner({
    store: subject.store,
    executor: new LocalStepExecutor(
      { PATH: process.env.PATH ?? '' },
      createProcessTable(),
      systemClock,
      () => ({
        isolation,
        userIds,
      }),
    ),
    clock: systemClock,
    ids: randomIds,
    logger: pino({ level: 'silent' }),
  });
  platform = new PlatformService({
    store: subject.store,
    runtime: idleRuntime,
    clock: systemClock,
    ids: randomIds,
    onChange: () => {
      runner.trigger();
    },
  });
  await bootstrapPlatform(platform);
  await runner.recoverInterrupted();
  runner.start();
});

afterEach(async () => {
  await runner.stop();
  await subject.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

async function finished(name: string): Promise<WorkflowRunStatus> {
  const resource = await waitFor(
    () => platform.get('WorkflowRun', 'default', name),
    (run) => ['Succeeded', 'Failed'].includes((run.status as WorkflowRunStatus).phase),
    { what: `workflow run ${name} to finish` },
  );
  return resource.status as WorkflowRunStatus;
}

function component(build: string): unknown[] {
  return yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: app }
spec:
  type: worker
  run: { command: node, args: [main.js], cwd: /tmp }
  build: ${build}
`);
}

describe('WorkflowRunner', () => {
  it('builds a component, stores its output and creates a release from the run', async () => {
    await platform.apply(
      component(
        `{ command: ${node}, args: [-e, "console.log('compiling'); console.error('a warning'); console.log('done')"], cwd: /tmp }`,
      ),
    );
    await platform.apply(
      yamlDocuments(
        'apiVersion: opspilot.dev/v1alpha1\nkind: WorkflowRun\nmetadata: { name: app-build-1 }\nspec: { component: app, parameters: { GIT_SHA: abc123 } }\n',
      ),
    );
    const status = await finished('app-build-1');
    expect(status.phase).toBe('Succeeded');
    expect(status.release).toBe('app-2');
    expect(status.steps).toEqual([
      expect.objectContaining({ name: 'build', phase: 'Succeeded', exitCode: 0 }),
    ]);
    const release = await platform.get('Release', 'default', 'app-2');
    expect((release.spec as ReleaseSpec).source.workflowRun).toBe('app-build-1');
    const lines = await platform.workflowLogs('default', 'app-build-1');
    expect(lines.map((line) => [line.stream, line.line])).toEqual(
      expect.arrayContaining([
        ['stdout', 'compiling'],
        ['stderr', 'a warning'],
        ['stdout', 'done'],
      ]),
    );
    expect(lines.map((line) => line.sequence)).toEqual(lines.map((_, index) => index));
  });

  it('fails a build whose folder does not exist, without a release', async () => {
    await platform.apply(component(`{ command: ${node}, args: [build.js], cwd: /nonexistent/app }`));
    await platform.apply(
      yamlDocuments(
        'apiVersion: opspilot.dev/v1alpha1\nkind: WorkflowRun\nmetadata: { name: broken }\nspec: { component: app }\n',
      ),
    );
    const status = await finished('broken');
    expect(status.phase).toBe('Failed');
    expect(status.message).toContain('working directory /nonexistent/app does not exist');
    expect(status.release).toBeNull();
    expect(
      (await platform.list('Release', { namespace: 'default' })).map((item) => item.metadata.name),
    ).toEqual(['app-1']);
  });

  it('fails a step whose working directory is a file', async () => {
    await platform.apply(
      component(`{ command: ${node}, args: [build.js], cwd: ${JSON.stringify(process.execPath)} }`),
    );
    await platform.apply(
      yamlDocuments(
        'apiVersion: opspilot.dev/v1alpha1\nkind: WorkflowRun\nmetadata: { name: file-cwd }\nspec: { component: app }\n',
      ),
    );
    const status = await finished('file-cwd');
    expect(status.phase).toBe('Failed');
    expect(status.message).toContain('is not a directory');
  });

  it('stops a workflow at the first failing step', async () => {
    await platform.apply(
      yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: Workflow
metadata: { name: checks }
spec:
  steps:
    - { name: lint, command: ${node}, args: [-e, "console.log(process.env.TARGET)"] }
    - { name: test, command: ${node}, args: [-e, "process.exit(4)"] }
    - { name: never, command: ${node}, args: [-e, "console.log('unreachable')"] }
---
apiVersion: opspilot.dev/v1alpha1
kind: WorkflowRun
metadata: { name: checks-1 }
spec: { workflow: checks, parameters: { TARGET: main } }
`),
    );
    const status = await finished('checks-1');
    expect(status.phase).toBe('Failed');
    expect(status.message).toBe('step test failed: exit code 4');
    expect(status.steps.map((step) => [step.name, step.phase])).toEqual([
      ['lint', 'Succeeded'],
      ['test', 'Failed'],
    ]);
    const lines = await platform.workflowLogs('default', 'checks-1');
    expect(lines.some((line) => line.step === 'lint' && line.line === 'main')).toBe(true);
    expect(lines.some((line) => line.line === 'unreachable')).toBe(false);
  });
});
