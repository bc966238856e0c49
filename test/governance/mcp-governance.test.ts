// The governed path end to end, in-process on a real server (SQLite state, real replicas, real HTTP):
// MCP clients of both spec revisions (the SDK client), per-caller tool lists, tenant scoping, writes as
// proposals with elicitation, approval by another person, verification, and the audit chain.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Client,
  StreamableHTTPClientTransport,
  specTypeSchemas,
  withInputRequired,
} from '@modelcontextprotocol/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inheritedEnvironment, loadConfig } from '../../src/config/load-config.js';
import type { Proposal } from '../../src/governance/proposals/contracts.js';
import type { Role } from '../../src/governance/principal.js';
import type { EnvironmentStatus, NodeView } from '../../src/platform/contracts.js';
import { createOpspilot, type Opspilot } from '../../src/server/opspilot-server.js';
import { tools, toolNames, type ToolName } from '../../src/mcp/tools.js';
import { serviceManifest, yamlDocuments } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait-for.js';

const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));

let workspace: string;
let opspilot: Opspilot;
let url: string;

async function token(
  subject: string,
  role: Role,
  namespace = 'shop',
  kind: 'user' | 'agent' = 'user',
): Promise<string> {
  return (await opspilot.governance.tokens.issue({ subject, kind, grants: [{ role, scope: { namespace } }] }))
    .token;
}

type Era = 'modern' | 'legacy';

async function connect(
  server: 'control-plane' | 'observability',
  bearer: string,
  options: { era?: Era; elicit?: (message: string) => boolean; manual?: boolean } = {},
): Promise<Client> {
  const client = new Client(
    { name: 'governance-test', version: '1.0.0' },
    {
      ...(options.elicit === undefined && options.manual !== true
        ? {}
        : { capabilities: { elicitation: {} } }),
      ...(options.manual === true ? { inputRequired: { autoFulfill: false } } : {}),
      ...(options.era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: '2026-07-28' } } }),
    },
  );
  if (options.elicit !== undefined) {
    const answer = options.elicit;
    client.setRequestHandler('elicitation/create', (request) =>
      Promise.resolve(
        answer(String((request.params as { message?: string }).message))
          ? { action: 'accept' as const, content: { confirm: true } }
          : { action: 'decline' as const },
      ),
    );
  }
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp/${server}`), {
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
    }),
  );
  return client;
}

async function listToolNames(client: Client): Promise<string[]> {
  const result = await client.listTools({}, { cacheMode: 'refresh' });
  return result.tools.map((tool) => tool.name).sort();
}

function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((item) => item.text ?? '').join('\n');
}

async function bindingStatus(environment: string): Promise<EnvironmentStatus | undefined> {
  const status = await opspilot.platform.componentStatus('shop', 'echo');
  return status.environments.find((item) => item.environment === environment);
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-governance-'));
  // Replicas run as their own unprivileged user (docs/runtime.md): they must reach the app folder in here.
  chmodSync(workspace, 0o755);
  mkdirSync(join(workspace, 'app'));
  copyFileSync(fixture, join(workspace, 'app', 'server.mjs'));
  const config = loadConfig({
    cwd: workspace,
    env: { OPSPILOT_RUNTIME__LOCAL__TERMINATION_GRACE_SECONDS: '1' },
    overrides: { dataDir: join(workspace, 'data'), port: 0, otlpPort: 0 },
  });
  opspilot = await createOpspilot({
    config,
    logger: pino({ level: 'silent' }),
    baseEnv: inheritedEnvironment(),
  });
  url = await opspilot.start();
  const shop = serviceManifest({
    namespace: 'shop',
    command: process.execPath,
    args: ['server.mjs'],
    cwd: join(workspace, 'app'),
    replicas: 1,
  });
  await opspilot.platform.apply([
    { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: 'shop' }, spec: {} },
    { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: 'bank' }, spec: {} },
    ...yamlDocuments(shop),
    ...yamlDocuments(
      shop
        .replace('echo-dev', 'echo-prod')
        .replace('environment: dev', 'environment: prod')
        .replace('replicas: 1', 'replicas: 2'),
    ).filter((document) => (document as { kind: string }).kind === 'ReleaseBinding'),
  ]);
  await waitFor(
    () => bindingStatus('prod'),
    (status) => status?.readyReplicas === 2,
    { what: 'echo in prod', timeoutMs: 30_000 },
  );
}, 60_000);

afterAll(async () => {
  await opspilot.stop();
  rmSync(workspace, { recursive: true, force: true });
});

describe('MCP endpoints', () => {
  it('answer 401 with a resource_metadata challenge and publish RFC 9728 metadata', async () => {
    const response = await fetch(`${url}/mcp/control-plane`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(
      `resource_metadata="${url}/.well-known/oauth-protected-resource/mcp/control-plane"`,
    );
    const metadata = (await (
      await fetch(`${url}/.well-known/oauth-protected-resource/mcp/control-plane`)
    ).json()) as {
      resource: string;
      authorization_servers: string[];
    };
    expect(metadata.resource).toBe(`${url}/mcp/control-plane`);
    expect(metadata.authorization_servers).toEqual([opspilot.governance.tokens.issuer]);
  });

  it.each<Era>(['modern', 'legacy'])('serve %s clients a tool list filtered by role', async (era) => {
    const expectations: [Role, (name: ToolName) => boolean][] = [
      ['viewer', (name) => tools[name].kind === 'read' && tools[name].action !== 'audit.read'],
      ['developer', (name) => tools[name].action !== 'audit.read'],
      ['operator', () => true],
      [
        'rca-agent',
        // Agents propose remediations; they neither promote releases nor start builds.
        (name) => !['audit.read', 'release.promote', 'workflow.run'].includes(tools[name].action),
      ],
    ];
    for (const [role, visible] of expectations) {
      const client = await connect('control-plane', await token(`${role}-${era}`, role), { era });
      const expected = toolNames
        .filter((name) => tools[name].server === 'control-plane' && visible(name))
        .sort();
      expect(await listToolNames(client), role).toEqual(expected);
      await client.close();
    }
    const observability = await connect('observability', await token(`viewer-o-${era}`, 'viewer'), { era });
    const listed = await observability.listTools({}, { cacheMode: 'refresh' });
    expect(listed.tools.map((tool) => tool.name).sort()).toEqual(
      toolNames.filter((name) => tools[name].server === 'observability').sort(),
    );
    for (const tool of listed.tools) {
      expect(tool.annotations, tool.name).toMatchObject({
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      });
      expect(tool.outputSchema, tool.name).toBeDefined();
    }
    await observability.close();
  });

  it("reports node capacity, naming only the caller's workloads", async () => {
    type Nodes = { items: NodeView[] };
    const nodesFor = async (subject: string, role: Role, namespace?: string) => {
      const client = await connect('control-plane', await token(subject, role, namespace));
      const result = await client.callTool({ name: 'get_node_capacity', arguments: {} });
      await client.close();
      expect(result.isError, subject).not.toBe(true);
      return (result.structuredContent as Nodes).items;
    };
    const [admin] = await nodesFor('nora', 'platform-admin');
    expect(admin?.cpuMillicores).toBe(availableParallelism() * 1000);
    expect(admin?.memoryBytes).toBe(totalmem());
    const echo = admin?.allocations.filter((item) => item.namespace === 'shop' && item.component === 'echo');
    expect(echo?.map((item) => [item.environment, item.replicas]).sort()).toEqual([
      ['dev', 1],
      ['prod', 2],
    ]);
    // Requests are per replica in the manifest (100m, 64Mi) and summed over live replicas here.
    const prod = echo?.find((item) => item.environment === 'prod');
    expect(prod).toMatchObject({ cpuRequestMillis: 200, memoryRequestBytes: 2 * 64 * 1024 * 1024 });
    expect(admin?.requested.cpuMillis).toBe(
      admin?.allocations.reduce((sum, item) => sum + item.cpuRequestMillis, 0),
    );
    expect(admin?.otherAllocations.workloads).toBe(0);

    // A tenant of another namespace sees the same node and the pressure, not the names.
    const [tenant] = await nodesFor('bart', 'viewer', 'bank');
    expect(tenant?.allocations).toEqual([]);
    expect(tenant?.otherAllocations).toMatchObject({
      workloads: admin?.allocations.length,
      replicas: admin?.allocations.reduce((sum, item) => sum + item.replicas, 0),
      cpuRequestMillis: admin?.requested.cpuMillis,
    });
    expect(tenant?.requested).toEqual(admin?.requested);
  });

  it('answers reads in scope and refuses another tenant, whatever the arguments say', async () => {
    const client = await connect('control-plane', await token('vera', 'viewer', 'shop'));
    const status = await client.callTool({
      name: 'get_component_status',
      arguments: { namespace: 'shop', component: 'echo' },
    });
    expect(status.isError).not.toBe(true);
    expect(status.structuredContent).toMatchObject({
      environments: expect.arrayContaining([expect.objectContaining({ environment: 'prod' })]) as unknown,
    });
    const other = await client.callTool({ name: 'list_components', arguments: { namespace: 'bank' } });
    expect(other.isError).toBe(true);
    expect(text(other)).toContain('forbidden');
    const namespaces = await client.callTool({ name: 'list_namespaces', arguments: {} });
    expect(
      (namespaces.structuredContent as { items: { name: string }[] }).items.map((item) => item.name),
    ).toEqual(['shop']);
    const unknown = await client.callTool({
      name: 'get_component_status',
      arguments: { namespace: 'shop', component: 'nope' },
    });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('not_found');
    await client.close();
    const denied = await opspilot.governance.audit.list({ principal: 'vera', decision: 'deny' });
    expect(denied.some((record) => record.namespace === 'bank' && record.action === 'platform.read')).toBe(
      true,
    );
  });

  it('asks to confirm a write, binds the confirmation to the caller, and runs it in dev', async () => {
    const prompts: string[] = [];
    const client = await connect('control-plane', await token('dana', 'developer'), {
      elicit: (message) => {
        prompts.push(message);
        return true;
      },
    });
    const result = await client.callTool({
      name: 'scale_component',
      arguments: { namespace: 'shop', component: 'echo', environment: 'dev', replicas: 2 },
    });
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('scale echo in dev from 1 to 2 replicas');
    const outcome = result.structuredContent as { status: string; proposal: Proposal };
    expect(['verifying', 'succeeded']).toContain(outcome.status);
    expect(outcome.proposal.approval.confirmedByRequester).toBe(true);
    await waitFor(
      () => bindingStatus('dev'),
      (status) => status?.readyReplicas === 2,
      { what: 'two ready replicas in dev' },
    );
    await client.close();
  });

  it('changes nothing when the person declines', async () => {
    const client = await connect('control-plane', await token('dina', 'developer'), { elicit: () => false });
    const before = await opspilot.platform.get('ReleaseBinding', 'shop', 'echo-dev');
    const result = await client.callTool({
      name: 'restart_component',
      arguments: { namespace: 'shop', component: 'echo', environment: 'dev' },
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('declined');
    const after = await opspilot.platform.get('ReleaseBinding', 'shop', 'echo-dev');
    expect(after.metadata.generation).toBe(before.metadata.generation);
    await client.close();
  });

  it('queues a production scale, refuses self-approval and agents, runs it after another person approves, and the audit chain verifies', async () => {
    const requester = await connect('control-plane', await token('alice', 'operator'), {
      elicit: () => true,
    });
    const asked = await requester.callTool({
      name: 'scale_component',
      arguments: { namespace: 'shop', component: 'echo', environment: 'prod', replicas: 3 },
    });
    const pending = (asked.structuredContent as { status: string; proposal: Proposal }).proposal;
    expect(pending.status).toBe('pending');
    expect(pending.diff).toContainEqual(
      expect.objectContaining({ path: 'spec.replicas', before: 2, after: 3 }),
    );
    expect(pending.guardrails.checks).toContainEqual(
      expect.objectContaining({ name: 'production', outcome: 'needs_approval' }),
    );
    expect((await bindingStatus('prod'))?.desiredReplicas).toBe(2);

    const approveAs = async (bearer: string): Promise<Response> =>
      fetch(`${url}/api/v1/proposals/${pending.id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ comment: 'looks right' }),
      });
    const self = await approveAs(await token('alice', 'operator'));
    expect(self.status).toBe(403);
    expect(((await self.json()) as { detail: string }).detail).toContain(
      'nobody decides on their own proposal',
    );
    const agent = await approveAs(
      (
        await opspilot.governance.tokens.issue({
          subject: 'rca',
          kind: 'agent',
          grants: [{ role: 'operator', scope: { namespace: 'shop' } }],
        })
      ).token,
    );
    expect(agent.status).toBe(403);
    const developer = await approveAs(await token('dev2', 'developer'));
    expect(developer.status).toBe(403);

    const approved = await approveAs(await token('bob', 'operator'));
    expect(approved.status).toBe(200);
    await waitFor(
      () => bindingStatus('prod'),
      (status) => status?.readyReplicas === 3,
      { what: 'three ready replicas in prod', timeoutMs: 20_000 },
    );
    const done = await waitFor(
      () => opspilot.governance.proposals.get(pending.id),
      (proposal) => proposal.status === 'succeeded',
      { what: 'verification to pass' },
    );
    expect(done.approval).toMatchObject({ decision: 'approved', decidedBy: { subject: 'bob' } });

    const audit = await opspilot.governance.audit.list({ namespace: 'shop', limit: 1000 });
    const lines = audit.map(
      (record) => `${record.principal} ${record.action} ${record.decision} ${record.result}`,
    );
    expect(lines).toContainEqual(`alice component.scale needs_approval proposal ${pending.id} pending`);
    expect(lines).toContainEqual(`alice proposal.approve deny approve refused`);
    expect(lines).toContainEqual(`bob proposal.approve approve proposal ${pending.id} approved`);
    expect(lines).toContainEqual(`system:opspilot component.scale system executed`);
    expect((await opspilot.governance.audit.verify()).ok).toBe(true);
    const history = await requester.callTool({
      name: 'get_deployment_history',
      arguments: { namespace: 'shop', component: 'echo', environment: 'prod' },
    });
    const entries = (
      history.structuredContent as {
        items: { kind: string; by: string | null; status: string | null; release: string | null }[];
      }
    ).items;
    expect(entries[0]).toMatchObject({ kind: 'change', by: 'alice', status: 'succeeded' });
    expect(entries.some((entry) => entry.kind === 'release' && entry.release === 'echo-1')).toBe(true);
    await requester.close();
  });

  it('queues writes from clients that cannot confirm, and denies what guardrails forbid', async () => {
    const client = await connect('control-plane', await token('carl', 'operator', 'shop'));
    const queued = await client.callTool({
      name: 'restart_component',
      arguments: { namespace: 'shop', component: 'echo', environment: 'dev' },
    });
    const proposal = (queued.structuredContent as { proposal: Proposal }).proposal;
    expect(proposal.status).toBe('pending');
    expect(proposal.approval.reasons.join(' ')).toContain('cannot ask its user to confirm');
    const tooMuch = await client.callTool({
      name: 'scale_component',
      arguments: { namespace: 'shop', component: 'echo', environment: 'prod', replicas: 1 },
    });
    expect(tooMuch.isError).toBe(true);
    expect(text(tooMuch)).toContain('production keeps at least 2 replicas');
    expect((tooMuch.structuredContent as { proposal: Proposal }).proposal.status).toBe('denied');
    await client.close();
  });

  it('refuses a requestState that was altered, replayed by someone else, or replayed for other arguments', async () => {
    // restart has no cooldown, so every call below reaches the confirmation step.
    const call = (client: Client, environment: string, extra: Record<string, unknown> = {}) =>
      client.request(
        {
          method: 'tools/call',
          params: {
            name: 'restart_component',
            arguments: { namespace: 'shop', component: 'echo', environment },
            ...extra,
          },
        },
        withInputRequired(specTypeSchemas.CallToolResult),
        { allowInputRequired: true },
      );
    const accept = { inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } };
    const erin = await connect('control-plane', await token('erin', 'developer'), { manual: true });
    const first = (await call(erin, 'dev')) as { resultType?: string; requestState?: string };
    expect(first.resultType).toBe('input_required');
    const state = first.requestState ?? '';
    await expect(call(erin, 'dev', { ...accept, requestState: `${state.slice(0, -2)}xx` })).rejects.toThrow(
      /requestState/,
    );
    const frank = await connect('control-plane', await token('frank', 'developer'), { manual: true });
    await expect(call(frank, 'dev', { ...accept, requestState: state })).rejects.toThrow(/requestState/);
    const otherArgs = (await call(erin, 'prod', { ...accept, requestState: state })) as {
      isError?: boolean;
      content?: { text?: string }[];
    };
    expect(otherArgs.isError).toBe(true);
    expect(otherArgs.content?.[0]?.text).toContain('belongs to another call');

    // The binding changes between the prompt and the answer: erin confirmed a diff that is no longer the one.
    const asked = (await call(erin, 'dev')) as { requestState?: string };
    const binding = await opspilot.platform.get('ReleaseBinding', 'shop', 'echo-dev');
    await opspilot.platform.apply([
      {
        ...binding,
        status: undefined,
        spec: { ...(binding.spec as object), env: { CHANGED: 'meanwhile' } },
      },
    ]);
    const stale = (await call(erin, 'dev', { ...accept, requestState: asked.requestState })) as {
      isError?: boolean;
      content?: { text?: string }[];
    };
    expect(stale.isError).toBe(true);
    expect(stale.content?.[0]?.text).toContain('The resources changed after you were asked to confirm');
    const restarts = await opspilot.governance.proposals.list({ namespaces: ['shop'] });
    expect(
      restarts.filter(
        (proposal) => proposal.createdBy.subject === 'erin' || proposal.createdBy.subject === 'frank',
      ),
    ).toEqual([]);
    await erin.close();
    await frank.close();
  });

  it("enforces every tool for every role, inside and outside the caller's namespace", async () => {
    const where = (namespace: string) => ({ namespace, component: 'echo', environment: 'dev' });
    const argumentsFor: Record<ToolName, ((namespace: string) => Record<string, unknown>) | null> = {
      list_namespaces: null,
      list_environments: null,
      get_deployment_pipeline: null,
      get_proposal: null,
      get_node_capacity: null,
      list_projects: (namespace) => ({ namespace }),
      list_components: (namespace) => ({ namespace }),
      get_component: (namespace) => ({ namespace, component: 'echo' }),
      get_component_status: (namespace) => ({ namespace, component: 'echo' }),
      list_releases: (namespace) => ({ namespace }),
      list_release_bindings: (namespace) => ({ namespace }),
      get_release_binding: where,
      get_events: (namespace) => ({ namespace }),
      get_instance_metrics: (namespace) => ({ namespace, component: 'echo' }),
      list_workflow_runs: (namespace) => ({ namespace }),
      get_workflow_run: (namespace) => ({ namespace, run: 'none' }),
      query_workflow_logs: (namespace) => ({ namespace, run: 'none' }),
      compare_workflow_runs: (namespace) => ({ namespace, run: 'none' }),
      get_deployment_history: (namespace) => ({ namespace, component: 'echo' }),
      get_resource_recommendations: (namespace) => ({ namespace, component: 'echo' }),
      apply_resource_recommendation: where,
      // A build of echo would reach its prod binding (no pinned release): developers may not; a workflow may.
      create_workflow_run: (namespace) => ({ namespace, workflow: 'nightly' }),
      list_proposals: (namespace) => ({ namespace }),
      get_audit_events: (namespace) => ({ namespace }),
      scale_component: (namespace) => ({ ...where(namespace), replicas: 2 }),
      restart_component: where,
      rollback_component: where,
      update_release_binding: (namespace) => ({ ...where(namespace), replicas: 2 }),
      promote_release: (namespace) => ({ namespace, component: 'echo', from: 'dev', to: 'dev' }),
      patch_resource_limits: (namespace) => ({ ...where(namespace), limits: { memory: '256Mi' } }),
      query_component_logs: (namespace) => ({ namespace }),
      get_error_summary: (namespace) => ({ namespace }),
      get_service_metrics: (namespace) => ({ namespace, metric: 'request_rate' }),
      query_resource_metrics: (namespace) => ({ namespace }),
      query_traces: (namespace) => ({ namespace }),
      query_trace_spans: (namespace) => ({ namespace, traceId: '0'.repeat(32) }),
      get_span_details: (namespace) => ({ namespace, traceId: '0'.repeat(32), spanId: '0'.repeat(16) }),
      get_service_dependencies: (namespace) => ({ namespace }),
      get_active_alerts: (namespace) => ({ namespace }),
      get_alert_history: (namespace) => ({ namespace }),
      list_rca_reports: (namespace) => ({ namespace }),
      get_rca_report: null,
      query_incidents: (namespace) => ({ namespace }),
    };
    // Tools of no namespace that still need arguments (invalid arguments are a protocol error).
    const fixedArguments: Partial<Record<ToolName, Record<string, unknown>>> = {
      get_proposal: { id: 'none' },
      get_rca_report: { id: 'none' },
    };
    const roles: Role[] = ['viewer', 'developer', 'operator', 'platform-admin', 'rca-agent', 'sre-agent'];
    const clients = new Map<string, Client>();
    for (const role of roles) {
      for (const server of ['control-plane', 'observability'] as const) {
        clients.set(`${role}/${server}`, await connect(server, await token(`matrix-${role}`, role, 'shop')));
      }
    }
    let checked = 0;
    for (const name of toolNames) {
      const tool = tools[name];
      const build = argumentsFor[name];
      for (const role of roles) {
        const client = clients.get(`${role}/${tool.server}`);
        if (client === undefined) throw new Error('no client');
        const holds = opspilot.governance.authorizer.roleAllows(role, tool.action);
        const args = build === null ? (fixedArguments[name] ?? {}) : build('shop');
        if (!holds) {
          await expect(client.callTool({ name, arguments: args }), `${role} ${name}`).rejects.toThrow(
            /not found|disabled/i,
          );
          checked += 1;
          continue;
        }
        const inside = await client.callTool({ name, arguments: args });
        expect(text(inside), `${role} ${name} in its namespace`).not.toMatch(/forbidden/);
        checked += 1;
        if (build === null) continue;
        const outside = await client.callTool({ name, arguments: build('bank') });
        expect(outside.isError, `${role} ${name} in another namespace`).toBe(true);
        expect(text(outside), `${role} ${name} in another namespace`).toMatch(/forbidden/);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(300);
    for (const client of clients.values()) await client.close();
  }, 120_000);

  it('compares a failed build with the last good one', async () => {
    const run = (name: string, fail: string) => ({
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'WorkflowRun',
      metadata: { name, namespace: 'shop' },
      spec: { component: 'builder', parameters: { FAIL: fail } },
    });
    await opspilot.platform.apply([
      {
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'Component',
        metadata: { name: 'builder', namespace: 'shop', project: 'shop' },
        spec: {
          type: 'worker',
          run: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
          build: {
            command: process.execPath,
            args: [
              '-e',
              "console.log('compiling at ' + Date.now()); if (process.env.FAIL === '1') { console.error('cannot find ./src'); process.exit(2) } console.log('ok')",
            ],
          },
        },
      },
      run('builder-good', '0'),
    ]);
    const phase = (name: string) => async () =>
      ((await opspilot.platform.get('WorkflowRun', 'shop', name)).status as { phase?: string } | undefined)
        ?.phase;
    await waitFor(phase('builder-good'), (value) => value === 'Succeeded', { what: 'the good build' });
    await opspilot.platform.apply([run('builder-bad', '1')]);
    await waitFor(phase('builder-bad'), (value) => value === 'Failed', { what: 'the failing build' });
    const client = await connect('control-plane', await token('bea', 'viewer'));
    const result = await client.callTool({
      name: 'compare_workflow_runs',
      arguments: { namespace: 'shop', run: 'builder-bad' },
    });
    expect(result.structuredContent).toMatchObject({
      run: 'builder-bad',
      baseline: 'builder-good',
      changedInputs: [{ field: 'parameters', before: { FAIL: '0' }, after: { FAIL: '1' } }],
      changedSteps: [{ step: 'build', after: 'Failed (exit 2)' }],
      firstDifferences: [{ step: 'build', failed: 'cannot find ./src', baseline: 'ok' }],
    });
    await client.close();
  });
});
