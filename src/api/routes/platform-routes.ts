// REST routes for every platform resource kind, apply, status, events and replica output.
//   cluster-scoped:  /api/v1/{plural}[/{name}]
//   namespaced:      /api/v1/namespaces/{namespace}/{plural}[/{name}]   and   /api/v1/{plural} (all namespaces)
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { ConflictError, ForbiddenError, InvalidError } from '../../core/errors.js';
import type { ApplyOutcome } from '../../platform/contracts.js';
import type { FieldDiff, Proposal } from '../../governance/proposals/contracts.js';
import { kindInfo, kinds, resourceNameSchema, resourceOutputSchema } from '../../platform/resource-kinds.js';
import {
  applyOutcomeSchema,
  componentStatusSchema,
  nodeViewSchema,
  platformEventSchema,
  replicaLogLineSchema,
  workflowComparisonSchema,
  workflowLogLineSchema,
} from '../../platform/contracts.js';
import { governed } from '../authentication.js';
import { problemSchema } from '../problem.js';
import { route } from '../route-actions.js';
import { fieldDiffSchema, proposalSchema } from '../../governance/proposals/contracts.js';

/** `?dryRun=true|false|1|0`; z.coerce.boolean would read "false" as true. */
const queryBoolean = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const applyBodySchema = z.strictObject({
  documents: z.array(z.unknown()).min(1, 'give at least one document'),
  /** Folder that relative `cwd` paths resolve against (the CLI sends the applied file's folder), or one per document. */
  baseDir: z.union([z.string(), z.array(z.string())]).optional(),
  dryRun: z.boolean().optional(),
  /** Namespace for documents that do not name one. */
  namespace: resourceNameSchema.optional(),
});

const listQuerySchema = z.strictObject({
  project: resourceNameSchema.optional(),
  component: resourceNameSchema.optional(),
  environment: resourceNameSchema.optional(),
});

const eventQuerySchema = listQuerySchema.extend({
  reason: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
});

const errorResponses = { 400: problemSchema, 404: problemSchema, 409: problemSchema, 503: problemSchema };

export const platformRoutes: FastifyPluginAsyncZod = (app) => {
  app.post(
    '/api/v1/apply',
    {
      ...route('POST /api/v1/apply'),
      schema: {
        tags: ['apply'],
        summary: 'Apply resource documents all-or-nothing',
        description:
          'Creates or updates every document, or nothing when any of them is invalid. A dry run (?dryRun=true or dryRun in the body) checks everything, writes nothing and answers what would change, with the field diff. Items carry the index of their document in `documents`.',
        body: applyBodySchema,
        querystring: z.strictObject({ dryRun: queryBoolean.optional() }),
        response: { 200: writeResponseSchema, 202: writeResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { dryRun } = request.query;
      if (dryRun !== undefined && request.body.dryRun !== undefined && dryRun !== request.body.dryRun) {
        throw new InvalidError('the query and the body disagree on dryRun', [], {
          hint: 'Give dryRun once: ?dryRun=true or {"dryRun": true} in the body.',
        });
      }
      return writeAnswer(
        reply,
        await governed(request).apply(request.body.documents, {
          baseDir: request.body.baseDir,
          dryRun: dryRun ?? request.body.dryRun,
          defaultNamespace: request.body.namespace,
        }),
      );
    },
  );

  for (const kind of kinds) {
    const info = kindInfo[kind];
    const output = resourceOutputSchema(kind);
    const list = z.object({ apiVersion: z.string(), kind: z.literal('List'), items: z.array(output) });
    const tags = [info.plural];
    const base =
      info.scope === 'cluster' ? `/api/v1/${info.plural}` : `/api/v1/namespaces/:namespace/${info.plural}`;
    const params =
      info.scope === 'cluster'
        ? z.object({ name: resourceNameSchema })
        : z.object({ namespace: resourceNameSchema, name: resourceNameSchema });
    const namespaceOf = (value: object): string => ('namespace' in value ? String(value.namespace) : '');

    app.get(
      base,
      {
        ...route(
          info.scope === 'cluster' ? 'GET /api/v1/{kind}' : 'GET /api/v1/namespaces/:namespace/{kind}',
        ),
        schema: {
          tags,
          summary: `List ${info.plural}`,
          params: info.scope === 'cluster' ? z.object({}) : z.object({ namespace: resourceNameSchema }),
          querystring: listQuerySchema,
          response: { 200: list, ...errorResponses },
        },
      },
      async (request) => ({
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'List' as const,
        items: await governed(request).list(kind, {
          ...request.query,
          namespace: info.scope === 'cluster' ? undefined : namespaceOf(request.params),
        }),
      }),
    );

    if (info.scope === 'namespaced') {
      app.get(
        `/api/v1/${info.plural}`,
        {
          ...route('GET /api/v1/{kind}'),
          schema: {
            tags,
            summary: `List ${info.plural} in all namespaces`,
            querystring: listQuerySchema,
            response: { 200: list, ...errorResponses },
          },
        },
        async (request) => ({
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'List' as const,
          items: await governed(request).list(kind, request.query),
        }),
      );
    }

    app.get(
      `${base}/:name`,
      {
        ...route('GET /api/v1/{kind}/:name'),
        schema: { tags, summary: `Read a ${kind}`, params, response: { 200: output, ...errorResponses } },
      },
      (request) => governed(request).get(kind, namespaceOf(request.params), request.params.name),
    );

    if (info.applicable) {
      app.put(
        `${base}/:name`,
        {
          ...route('PUT /api/v1/{kind}/:name'),
          schema: {
            tags,
            summary: `Create or update a ${kind}`,
            params,
            body: z.object({ metadata: z.object({ name: z.string() }).loose() }).loose(),
            querystring: z.strictObject({ dryRun: queryBoolean.optional() }),
            response: { 200: writeResponseSchema, 202: writeResponseSchema, ...errorResponses },
          },
        },
        async (request, reply) => {
          const { name } = request.params;
          const namespace = namespaceOf(request.params);
          const metadata = request.body.metadata as { name: string; namespace?: unknown };
          if (
            metadata.name !== name ||
            (namespace !== '' && metadata.namespace !== undefined && metadata.namespace !== namespace)
          ) {
            throw new InvalidError(
              'the document does not match the URL',
              [
                {
                  path: 'metadata',
                  message: `expected name ${name}${namespace === '' ? '' : ` in namespace ${namespace}`}`,
                },
              ],
              { hint: 'Give metadata.name (and metadata.namespace, when set) as the URL names them.' },
            );
          }
          const document = {
            ...request.body,
            kind,
            metadata: { ...metadata, ...(namespace === '' ? {} : { namespace }) },
          };
          return writeAnswer(
            reply,
            await governed(request).apply([document], { dryRun: request.query.dryRun }),
          );
        },
      );
    }

    app.delete(
      `${base}/:name`,
      {
        ...route('DELETE /api/v1/{kind}/:name'),
        schema: {
          tags,
          summary: `Delete a ${kind}`,
          description:
            kind === 'Component'
              ? 'Also deletes its releases, bindings (stopping their replicas) and workflow runs.'
              : undefined,
          params,
          response: { 200: writeResponseSchema, 202: writeResponseSchema, ...errorResponses },
        },
      },
      async (request, reply) =>
        writeAnswer(reply, {
          outcome: null,
          proposal: await governed(request).delete(kind, namespaceOf(request.params), request.params.name),
        }),
    );
  }

  const componentParams = z.object({ namespace: resourceNameSchema, name: resourceNameSchema });

  app.get(
    '/api/v1/namespaces/:namespace/components/:name/status',
    {
      ...route('GET /api/v1/namespaces/:namespace/components/:name/status'),
      schema: {
        tags: ['components'],
        summary: 'Live status of a component in every environment',
        params: componentParams,
        response: { 200: componentStatusSchema, ...errorResponses },
      },
    },
    (request) => governed(request).componentStatus(request.params.namespace, request.params.name),
  );

  app.get(
    '/api/v1/namespaces/:namespace/components/:name/logs',
    {
      ...route('GET /api/v1/namespaces/:namespace/components/:name/logs'),
      schema: {
        tags: ['components'],
        summary: 'Recent stdout/stderr lines of a component in one environment',
        params: componentParams,
        querystring: z.strictObject({
          environment: resourceNameSchema,
          replica: z.string().optional(),
          tail: z.coerce.number().int().min(1).max(10_000).optional(),
        }),
        response: {
          200: z.object({ lines: z.array(replicaLogLineSchema) }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      lines: await governed(request).logs({
        namespace: request.params.namespace,
        component: request.params.name,
        environment: request.query.environment,
        replica: request.query.replica,
        tail: request.query.tail,
      }),
    }),
  );

  app.get(
    '/api/v1/namespaces/:namespace/workflowruns/:name/logs',
    {
      ...route('GET /api/v1/namespaces/:namespace/workflowruns/:name/logs'),
      schema: {
        tags: ['workflowruns'],
        summary: 'Output of a workflow run, in order',
        params: componentParams,
        querystring: z.strictObject({
          after: z.coerce.number().int().min(-1).optional(),
          limit: z.coerce.number().int().min(1).max(10_000).optional(),
        }),
        response: {
          200: z.object({ lines: z.array(workflowLogLineSchema) }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      lines: await governed(request).workflowLogs(request.params.namespace, request.params.name, {
        afterSequence: request.query.after,
        limit: request.query.limit,
      }),
    }),
  );

  app.get(
    '/api/v1/namespaces/:namespace/workflowruns/:name/compare',
    {
      ...route('GET /api/v1/namespaces/:namespace/workflowruns/:name/compare'),
      schema: {
        tags: ['workflowruns'],
        summary:
          'A run next to the last successful one before it (or ?baseline=): changed inputs, steps, first differing lines',
        params: componentParams,
        querystring: z.strictObject({ baseline: resourceNameSchema.optional() }),
        response: { 200: workflowComparisonSchema, ...errorResponses },
      },
    },
    (request) =>
      governed(request).compareWorkflowRuns(
        request.params.namespace,
        request.params.name,
        request.query.baseline,
      ),
  );

  const eventsResponse = z.object({
    apiVersion: z.string(),
    kind: z.literal('EventList'),
    items: z.array(platformEventSchema),
  });
  app.get(
    '/api/v1/nodes',
    {
      ...route('GET /api/v1/nodes'),
      schema: {
        tags: ['nodes'],
        summary: "The runtime's nodes: capacity, what workloads request and use",
        description:
          "Allocations outside the caller's scope are summed into otherAllocations: their pressure shows, their names do not.",
        response: {
          200: z.object({
            apiVersion: z.literal('opspilot.dev/v1alpha1'),
            kind: z.literal('NodeList'),
            items: z.array(nodeViewSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      apiVersion: 'opspilot.dev/v1alpha1' as const,
      kind: 'NodeList' as const,
      items: await governed(request).nodes(),
    }),
  );
  app.get(
    '/api/v1/events',
    {
      ...route('GET /api/v1/events'),
      schema: {
        tags: ['events'],
        summary: 'Events in all namespaces, newest first',
        querystring: eventQuerySchema,
        response: { 200: eventsResponse, ...errorResponses },
      },
    },
    async (request) => ({
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'EventList' as const,
      items: await governed(request).events(request.query),
    }),
  );
  app.get(
    '/api/v1/namespaces/:namespace/events',
    {
      ...route('GET /api/v1/namespaces/:namespace/events'),
      schema: {
        tags: ['events'],
        summary: 'Events in a namespace, newest first',
        params: z.object({ namespace: resourceNameSchema }),
        querystring: eventQuerySchema,
        response: { 200: eventsResponse, ...errorResponses },
      },
    },
    async (request) => ({
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'EventList' as const,
      items: await governed(request).events({ ...request.query, namespace: request.params.namespace }),
    }),
  );

  const intentBody = {
    scale: z.strictObject({ environment: resourceNameSchema, replicas: z.number().int().min(0).max(100) }),
    restart: z.strictObject({ environment: resourceNameSchema }),
    rollback: z.strictObject({ environment: resourceNameSchema, release: resourceNameSchema.optional() }),
    promote: z.strictObject({ from: resourceNameSchema, to: resourceNameSchema }),
  };
  app.post(
    '/api/v1/namespaces/:namespace/components/:name/scale',
    {
      ...route('POST /api/v1/namespaces/:namespace/components/:name/scale'),
      schema: {
        tags: ['components'],
        summary:
          'Propose a new replica count (runs at once when guardrails allow; 202 when it needs approval)',
        params: componentParams,
        body: intentBody.scale,
        response: { 200: writeResponseSchema, 202: writeResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      writeAnswer(reply, {
        outcome: null,
        proposal: await governed(request).scale(
          request.params.namespace,
          request.params.name,
          request.body.environment,
          request.body.replicas,
        ),
      }),
  );
  app.post(
    '/api/v1/namespaces/:namespace/components/:name/restart',
    {
      ...route('POST /api/v1/namespaces/:namespace/components/:name/restart'),
      schema: {
        tags: ['components'],
        summary: 'Propose a rolling restart of a component in one environment',
        params: componentParams,
        body: intentBody.restart,
        response: { 200: writeResponseSchema, 202: writeResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      writeAnswer(reply, {
        outcome: null,
        proposal: await governed(request).restart(
          request.params.namespace,
          request.params.name,
          request.body.environment,
        ),
      }),
  );
  app.post(
    '/api/v1/namespaces/:namespace/components/:name/rollback',
    {
      ...route('POST /api/v1/namespaces/:namespace/components/:name/rollback'),
      schema: {
        tags: ['components'],
        summary: 'Propose a rollback to the previous release (or the given one)',
        params: componentParams,
        body: intentBody.rollback,
        response: { 200: writeResponseSchema, 202: writeResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      writeAnswer(reply, {
        outcome: null,
        proposal: await governed(request).rollback(
          request.params.namespace,
          request.params.name,
          request.body.environment,
          request.body.release,
        ),
      }),
  );
  app.post(
    '/api/v1/namespaces/:namespace/components/:name/promote',
    {
      ...route('POST /api/v1/namespaces/:namespace/components/:name/promote'),
      schema: {
        tags: ['components'],
        summary: 'Propose running in environment `to` the release environment `from` runs',
        params: componentParams,
        body: intentBody.promote,
        response: { 200: writeResponseSchema, 202: writeResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      writeAnswer(reply, {
        outcome: null,
        proposal: await governed(request).promote(
          request.params.namespace,
          request.params.name,
          request.body.from,
          request.body.to,
        ),
      }),
  );

  return Promise.resolve();
};

/**
 * A write's answer: the platform's items (what was created, configured, deleted) and the proposal that carried
 * it. 200 when it ran; 202 when it waits for approval; 403 when guardrails denied it.
 */
const writeResponseSchema = applyOutcomeSchema
  .extend({
    proposal: proposalSchema.nullable(),
    /** A dry run's field differences: what it would change. */
    diff: z.array(fieldDiffSchema).optional(),
  })
  .meta({ id: 'WriteResult' });

function writeAnswer(
  reply: FastifyReply,
  result: { outcome: ApplyOutcome | null; proposal: Proposal | null; diff?: FieldDiff[] | undefined },
): z.infer<typeof writeResponseSchema> {
  const { outcome, proposal } = result;
  if (proposal === null)
    return {
      dryRun: outcome?.dryRun ?? false,
      items: outcome?.items ?? [],
      proposal: null,
      ...(result.diff === undefined ? {} : { diff: result.diff }),
    };
  if (proposal.status === 'denied') {
    throw new ForbiddenError(`guardrails denied it: ${proposal.guardrails.reasons.join('; ')}`, {
      hint: `Proposal ${proposal.id} records the verdict; change the request to fit the guardrails.`,
    });
  }
  if (proposal.status === 'failed') {
    throw new ConflictError(
      `proposal ${proposal.id} failed: ${proposal.execution.message ?? 'unknown reason'}`,
      {
        hint: `opspilot proposals show ${proposal.id} has the details; fix the cause, then make the change again.`,
      },
    );
  }
  if (proposal.status === 'pending') void reply.code(202);
  return { dryRun: false, items: outcome?.items ?? proposal.execution.items, proposal };
}
