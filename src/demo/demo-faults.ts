// The demo shop's fault scenarios (demo/shop/faults.yaml): inject one, list them, heal. They exist only when the
// server runs with `--demo`. A fault is a change proposed by `demo:chaos`, a service account that holds a token
// like any other and is an operator of the demo namespace only: it goes through the gateway, guardrails judge it,
// and what needs approval waits for a person's — the caller's when they ask for it (`approve`), audited as theirs.
// What opspilot sees is what it would see of any such change: a new release rolling out, a binding changing,
// replicas scaled to zero. Healing is the same: demo:chaos proposes demo/shop.yaml, a person approves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import type { GovernanceGateway } from '../governance/gateway.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { Proposal } from '../governance/proposals/contracts.js';
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

/** One proposal a fault or a heal made, and what became of it. */
export interface DemoProposal {
  readonly id: string;
  readonly title: string;
  readonly status: string;
  /** Who approved it, when it was approved here. */
  readonly approvedBy?: string | undefined;
}

export interface FaultOutcome {
  readonly fault: string;
  readonly environment: string;
  /** What each change does, in order. */
  readonly changes: string[];
  readonly proposals: DemoProposal[];
}

export class DemoFaults {
  constructor(
    private readonly options: {
      readonly gateway: GovernanceGateway;
      /** demo:chaos's bearer token (`Bearer …`). */
      readonly credentials: () => Promise<string>;
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

  /** demo:chaos's services: authenticated with its token, as any agent's. */
  private async chaos(): Promise<GovernedServices> {
    const { gateway } = this.options;
    const principal = await gateway.authenticate(await this.options.credentials(), [gateway.auth.audience]);
    return gateway.forCaller({ principal, edge: 'system', client: 'opspilot-demo' });
  }

  /**
   * Proposes the fault's changes as demo:chaos. With `approve`, the caller approves each one that waits for a
   * person (as they would any other: their right to approve, their name in the audit chain).
   */
  async inject(
    caller: GovernedServices,
    name: string,
    environment: string,
    approve: boolean,
  ): Promise<FaultOutcome> {
    const fault = this.list().find((candidate) => candidate.name === name);
    if (fault === undefined) {
      throw new NotFoundError(`no fault named ${name}`, {
        hint: `Faults: ${this.list()
          .map((candidate) => candidate.name)
          .join(', ')}.`,
      });
    }
    const chaos = await this.chaos();
    const changes: string[] = [];
    const proposals: DemoProposal[] = [];
    for (const change of fault.changes) {
      const { what, proposal } = await this.run(chaos, change, environment);
      changes.push(what);
      if (proposal !== undefined)
        proposals.push(await this.decide(caller, proposal, approve, `demo fault ${name}`));
    }
    return { fault: name, environment, changes, proposals };
  }

  /** Proposes demo/shop.yaml as demo:chaos; with `approve`, the caller approves it. */
  async heal(caller: GovernedServices, approve: boolean): Promise<{ proposals: DemoProposal[] }> {
    const file = join(this.options.root, 'shop.yaml');
    const documents = parseAllDocuments(readFileSync(file, 'utf8')).map(
      (document) => document.toJS() as unknown,
    );
    const { proposal } = await (await this.chaos()).apply(documents, { baseDir: this.options.root });
    if (proposal === null) return { proposals: [] };
    return { proposals: [await this.decide(caller, proposal, approve, 'demo heal')] };
  }

  private async decide(
    caller: GovernedServices,
    proposal: Proposal,
    approve: boolean,
    comment: string,
  ): Promise<DemoProposal> {
    if (!approve || proposal.status !== 'pending')
      return { id: proposal.id, title: proposal.title, status: proposal.status };
    const done = await caller.approve(proposal.id, comment);
    return {
      id: done.id,
      title: done.title,
      status: done.status,
      approvedBy: caller.caller.principal.subject,
    };
  }

  /** Runs the component's build with these parameters and waits for its outcome (a minute at most). */
  private async build(
    chaos: GovernedServices,
    component: string,
    parameters: Record<string, string>,
  ): Promise<{ what: string; proposal: Proposal | undefined }> {
    const name = `${component}-build-${Date.now().toString(36)}`;
    const { proposal } = await chaos.apply(
      [
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'WorkflowRun',
          metadata: { name, namespace: this.namespace },
          spec: { component, parameters },
        },
      ],
      {},
    );
    if (proposal !== null && proposal.status !== 'succeeded')
      return { what: `build ${name} proposed`, proposal };
    const deadline = Date.now() + 60_000;
    let phase = 'Pending';
    while (Date.now() < deadline) {
      const run = await chaos.get('WorkflowRun', this.namespace, name);
      phase = (run.status as { phase?: string } | undefined)?.phase ?? 'Pending';
      if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Cancelled') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { what: `build ${name} ${phase}`, proposal: proposal ?? undefined };
  }

  private async run(
    chaos: GovernedServices,
    change: z.infer<typeof changeSchema>,
    environment: string,
  ): Promise<{ what: string; proposal: Proposal | undefined }> {
    if ('build' in change) {
      // A good build first when there is none to compare with, then the one with the changed input.
      const { component, parameters } = change.build;
      const runs = await chaos.list('WorkflowRun', { namespace: this.namespace, component });
      const good = runs.some((run) => (run.status as { phase?: string } | undefined)?.phase === 'Succeeded');
      const outcomes: string[] = [];
      if (!good) outcomes.push((await this.build(chaos, component, {})).what);
      const last = await this.build(chaos, component, parameters);
      outcomes.push(last.what);
      return { what: outcomes.join('; '), proposal: last.proposal };
    }
    if ('release' in change) {
      // The component's own environment changes: a new release that rolls out.
      const { component } = change.release;
      const resource = await chaos.get('Component', this.namespace, component);
      const spec = resource.spec as ComponentSpec;
      const { proposal } = await chaos.apply(
        [
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
        ],
        {},
      );
      const what = `release ${component} with ${Object.entries(change.release.env)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')}`;
      return { what, proposal: proposal ?? undefined };
    }
    const component =
      'scale' in change
        ? change.scale.component
        : 'bindingEnv' in change
          ? change.bindingEnv.component
          : change.resources.component;
    const name = `${component}-${environment}`;
    const binding = await chaos.get('ReleaseBinding', this.namespace, name);
    const spec = binding.spec as ReleaseBindingSpec;
    let next: ReleaseBindingSpec;
    let what: string;
    if ('scale' in change) {
      next = { ...spec, replicas: change.scale.replicas };
      what = `scale ${name} from ${spec.replicas} to ${change.scale.replicas} replicas`;
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
      what = `change the resources of ${name}`;
    }
    const { proposal } = await chaos.apply(
      [
        {
          apiVersion: binding.apiVersion,
          kind: 'ReleaseBinding',
          metadata: { name, namespace: this.namespace },
          spec: next,
        },
      ],
      {},
    );
    return { what, proposal: proposal ?? undefined };
  }
}
