// Keeps the runtime in step with the declared state: every Active binding becomes a workload running its
// target release. Runs at once on every change and on a resync timer (which also repairs drift).
import type { Logger } from '../core/logger.js';
import type { Runtime, WorkloadSpec } from '../runtime/ports.js';
import { parseCpu, parseMemory } from '../core/quantity.js';
import type { ResourceRecord, StateStore } from '../state/ports.js';
import type { ReleaseBindingSpec, ReleaseSpec } from './resource-kinds.js';
import type { StoredComponentStatus } from './status.js';

export interface ReconcilerOptions {
  readonly store: StateStore;
  readonly runtime: Pick<Runtime, 'apply'>;
  readonly logger: Logger;
  readonly resyncIntervalMs: number;
  /** Default variables for every replica from its identity labels (telemetry endpoints and resource attributes). */
  readonly injectEnv?: (labels: Readonly<Record<string, string>>) => Record<string, string>;
}

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** Until start() (and after stop()) triggers are ignored: start() reconciles everything anyway. */
  private stopped = true;

  constructor(private readonly options: ReconcilerOptions) {}

  /** Reconciles once (so that replicas of a previous run are re-adopted before anything else) and keeps going. */
  async start(): Promise<void> {
    this.stopped = false;
    this.trigger();
    await this.settled();
    this.timer = setInterval(() => {
      this.trigger();
    }, this.options.resyncIntervalMs);
  }

  /** Asks for a reconcile soon; calls during a running pass fold into one more pass. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Waits for any pass in progress (tests use it to observe a settled state). */
  async settled(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async loop(): Promise<void> {
    this.again = false;
    do {
      try {
        await this.reconcile();
      } catch (error) {
        this.options.logger.error({ err: error }, 'reconcile failed; will retry at the next resync');
      }
    } while (this.takeAgain() && !this.stopped);
  }

  private takeAgain(): boolean {
    const again = this.again;
    this.again = false;
    return again;
  }

  private async reconcile(): Promise<void> {
    const { store } = this.options;
    const bindings = await store.resources.list({ kind: 'ReleaseBinding' });
    const workloads: WorkloadSpec[] = [];
    for (const binding of bindings) {
      const spec = binding.spec as ReleaseBindingSpec;
      if (spec.state === 'Undeploy') continue;
      const component = await store.resources.get({
        kind: 'Component',
        namespace: binding.namespace,
        name: spec.component,
      });
      if (component === undefined) continue;
      const target =
        spec.release ?? (component.status as StoredComponentStatus | null)?.latestRelease ?? null;
      if (target === null) continue;
      const release = await store.resources.get({
        kind: 'Release',
        namespace: binding.namespace,
        name: target,
      });
      if (release === undefined) continue;
      workloads.push(workloadFor(binding, release, this.options.injectEnv));
    }
    await this.options.runtime.apply(workloads);
  }
}

/** Binding annotation whose change restarts every replica, one at a time. */
export const restartAnnotation = 'opspilot.dev/restartedAt';

/** Maps a binding and the release it runs onto the runtime's workload vocabulary. */
export function workloadFor(
  binding: ResourceRecord,
  release: ResourceRecord,
  injectEnv?: (labels: Readonly<Record<string, string>>) => Record<string, string>,
): WorkloadSpec {
  const spec = binding.spec as ReleaseBindingSpec;
  const { template } = release.spec as ReleaseSpec;
  const labels = {
    namespace: binding.namespace,
    project: binding.project ?? 'default',
    component: spec.component,
    environment: spec.environment,
    binding: binding.name,
    release: release.name,
  };
  // Injected defaults (telemetry endpoints) first, so that a component or binding can override them; the
  // identity variables last, so that nothing can.
  const env: Record<string, string> = {
    ...injectEnv?.(labels),
    ...template.run.env,
    ...spec.env,
    OPSPILOT_NAMESPACE: labels.namespace,
    OPSPILOT_PROJECT: labels.project,
    OPSPILOT_COMPONENT: labels.component,
    OPSPILOT_ENVIRONMENT: labels.environment,
    OPSPILOT_RELEASE: labels.release,
  };
  // A restart request (kubectl's restartedAt idea): a new value changes the template, so replicas roll.
  const restartedAt = binding.annotations[restartAnnotation];
  if (restartedAt !== undefined) env.OPSPILOT_RESTARTED_AT = restartedAt;
  const quantity = <T>(text: string | undefined, parse: (value: string) => T | undefined): T | undefined =>
    text === undefined ? undefined : parse(text);
  return {
    id: binding.uid,
    name: binding.name,
    labels,
    type: template.type,
    revision: release.name,
    template: {
      command: template.run.command,
      args: template.run.args,
      cwd: template.run.cwd,
      env,
      port:
        template.port === undefined
          ? undefined
          : { env: template.port.env, protocol: template.port.protocol },
      probe:
        template.port === undefined
          ? undefined
          : {
              path: template.port.healthPath,
              periodSeconds: template.probe?.periodSeconds ?? 2,
              timeoutSeconds: template.probe?.timeoutSeconds ?? 1,
              failureThreshold: template.probe?.failureThreshold ?? 3,
              startupTimeoutSeconds: template.probe?.startupTimeoutSeconds ?? 60,
            },
    },
    replicas: spec.replicas,
    resources: {
      cpuRequestMillis: quantity(spec.resources?.requests?.cpu, parseCpu),
      cpuLimitMillis: quantity(spec.resources?.limits?.cpu, parseCpu),
      memoryRequestBytes: quantity(spec.resources?.requests?.memory, parseMemory),
      memoryLimitBytes: quantity(spec.resources?.limits?.memory, parseMemory),
    },
    endpointPort: spec.endpoint?.port,
  };
}
