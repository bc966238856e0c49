// The demo shop's fault scenarios (demo/shop/faults.yaml): inject one, list them, heal. A fault is a change made
// outside the guardrails, as many real incidents start (a hand-run script, a console click): it goes straight to
// the platform, so production's minimum replicas or cooldowns do not stop it, and it is written to the audit
// chain as demo:chaos. What opspilot sees is what it would see of such a change: a new release rolling out, a
// binding changing, replicas scaled to zero. Healing goes through the governed path like any other change.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { digest } from '../core/canonical-json.js';
import { NotFoundError } from '../core/errors.js';
import type { PlatformService } from '../platform/platform-service.js';
import type { Governance } from '../governance/governance.js';
import type { Caller, Principal } from '../governance/principal.js';
import type { ComponentSpec, ReleaseBindingSpec } from '../platform/resource-kinds.js';

const env = z.record(z.string(), z.string());
const changeSchema = z.union([
  z.strictObject({ scale: z.strictObject({ component: z.string(), replicas: z.number().int().min(0) }) }),
  z.strictObject({ release: z.strictObject({ component: z.string(), env }) }),
  z.strictObject({ bindingEnv: z.strictObject({ component: z.string(), env }) }),
  z.strictObject({
    build: z.strictObject({ component: z.string(), parameters: env }),
  }),
  z.strictObject({
    resources: z.strictObject({
      component: z.string(),
      requests: z.record(z.string(), z.string()).optional(),
      limits: z.record(z.string(), z.string()).optional(),
    }),
  }),
]);

export const faultSchema = z.strictObject({
  name: z.string(),
  description: z.string(),
  truth: z.strictObject({ component: z.string(), kind: z.string() }),
  changes: z.array(changeSchema).min(1),
});
export type Fault = z.infer<typeof faultSchema>;

const chaos: Principal = {
  subject: 'demo:chaos',
  kind: 'service',
  autonomy: 3,
  issuer: 'opspilot',
  grants: [{ role: 'platform-admin', scope: { namespace: '*' } }],
};
const heal: Caller = { principal: chaos, edge: 'system', client: 'opspilot-demo' };
const approver: Caller = {
  principal: { ...chaos, subject: 'demo:approver' },
  edge: 'system',
  client: 'opspilot-demo',
};

export interface FaultOutcome {
  readonly fault: string;
  readonly environment: string;
  readonly changes: string[];
}

export class DemoFaults {
  constructor(
    private readonly options: {
      readonly governance: Governance;
      readonly platform: PlatformService;
      /** The demo folder (holds shop.yaml and shop/faults.yaml). */
      readonly root: string;
      readonly namespace?: string;
    },
  ) {}

  private get namespace(): string {
    return this.options.namespace ?? 'shop';
  }

  list(): Fault[] {
    const raw = parse(readFileSync(join(this.options.root, 'shop', 'faults.yaml'), 'utf8')) as unknown;
    return z.array(faultSchema).parse(raw);
  }

  async inject(name: string, environment: string): Promise<FaultOutcome> {
    const fault = this.list().find((candidate) => candidate.name === name);
    if (fault === undefined) {
      throw new NotFoundError(`no fault named ${name}`, {
        hint: `Faults: ${this.list()
          .map((candidate) => candidate.name)
          .join(', ')}.`,
      });
    }
    const started = performance.now();
    const changes: string[] = [];
    for (const change of fault.changes) changes.push(await this.run(change, environment));
    await this.options.governance.audit.append({
      principal: chaos.subject,
      principalKind: chaos.kind,
      client: 'opspilot-demo',
      edge: 'system',
      action: 'demo.fault',
      namespace: this.namespace,
      target: `${this.namespace}/${fault.truth.component}@${environment}`,
      argsDigest: digest({ name, environment }),
      decision: 'allow',
      reasons: ['demo fault injection: straight to the platform, outside the guardrails'],
      result: changes.join('; '),
      latencyMs: performance.now() - started,
    });
    return { fault: name, environment, changes };
  }

  /** Runs the component's build with these parameters and waits for its outcome (a minute at most). */
  private async build(component: string, parameters: Record<string, string>): Promise<string> {
    const name = `${component}-build-${Date.now().toString(36)}`;
    await this.options.platform.apply([
      {
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'WorkflowRun',
        metadata: { name, namespace: this.namespace },
        spec: { component, parameters },
      },
    ]);
    const deadline = Date.now() + 60_000;
    let phase = 'Pending';
    while (Date.now() < deadline) {
      const run = await this.options.platform.get('WorkflowRun', this.namespace, name);
      phase = (run.status as { phase?: string } | undefined)?.phase ?? 'Pending';
      if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Cancelled') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return `build ${name} ${phase}`;
  }

  /** Puts the shop back as demo/shop.yaml declares it, through the governed path. */
  async heal(): Promise<{ proposals: { id: string; title: string; status: string }[] }> {
    const file = join(this.options.root, 'shop.yaml');
    const documents = parseAllDocuments(readFileSync(file, 'utf8')).map(
      (document) => document.toJS() as unknown,
    );
    const services = this.options.governance.forCaller(heal);
    const { proposal } = await services.apply(documents, { baseDir: this.options.root });
    if (proposal === null) return { proposals: [] };
    const done =
      proposal.status === 'pending'
        ? await this.options.governance.forCaller(approver).approve(proposal.id, 'demo heal')
        : proposal;
    return { proposals: [{ id: done.id, title: done.title, status: done.status }] };
  }

  private async run(change: z.infer<typeof changeSchema>, environment: string): Promise<string> {
    const platform = this.options.platform;
    if ('build' in change) {
      // A good build first when there is none to compare with, then the one with the changed input.
      const { component, parameters } = change.build;
      const runs = await platform.list('WorkflowRun', { namespace: this.namespace, component });
      const good = runs.some((run) => (run.status as { phase?: string } | undefined)?.phase === 'Succeeded');
      const outcomes: string[] = [];
      if (!good) outcomes.push(await this.build(component, {}));
      outcomes.push(await this.build(component, parameters));
      return outcomes.join('; ');
    }
    if ('release' in change) {
      // The component's own environment changes: a new release that rolls out.
      const { component } = change.release;
      const resource = await platform.get('Component', this.namespace, component);
      const spec = resource.spec as ComponentSpec;
      await platform.apply([
        {
          apiVersion: resource.apiVersion,
          kind: 'Component',
          metadata: {
            name: component,
            namespace: this.namespace,
            ...(resource.metadata.project === undefined ? {} : { project: resource.metadata.project }),
          },
          spec: { ...spec, run: { ...spec.run, env: { ...spec.run.env, ...change.release.env } } },
        },
      ]);
      return `released ${component} with ${Object.entries(change.release.env)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')}`;
    }
    const component =
      'scale' in change
        ? change.scale.component
        : 'bindingEnv' in change
          ? change.bindingEnv.component
          : change.resources.component;
    const name = `${component}-${environment}`;
    const binding = await platform.get('ReleaseBinding', this.namespace, name);
    const spec = binding.spec as ReleaseBindingSpec;
    let next: ReleaseBindingSpec;
    let what: string;
    if ('scale' in change) {
      next = { ...spec, replicas: change.scale.replicas };
      what = `scaled ${name} from ${spec.replicas} to ${change.scale.replicas} replicas`;
    } else if ('bindingEnv' in change) {
      next = { ...spec, env: { ...spec.env, ...change.bindingEnv.env } };
      what = `set ${Object.entries(change.bindingEnv.env)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')} on ${name}`;
    } else {
      next = {
        ...spec,
        resources: {
          requests: { ...spec.resources?.requests, ...change.resources.requests },
          limits: { ...spec.resources?.limits, ...change.resources.limits },
        },
      };
      what = `changed the resources of ${name}`;
    }
    await platform.apply([
      {
        apiVersion: binding.apiVersion,
        kind: 'ReleaseBinding',
        metadata: { name, namespace: this.namespace },
        spec: next,
      },
    ]);
    return what;
  }
}
