// REST routes for every platform resource kind, apply, status, events and replica output.
//   cluster-scoped:  /api/v1/{plural}[/{name}]
//   namespaced:      /api/v1/namespaces/{namespace}/{plural}[/{name}]   and   /api/v1/{plural} (all namespaces)
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidError } from '../../core/errors.js';
import type { PlatformService } from '../../platform/platform-service.js';
import { kindInfo, kinds, resourceNameSchema, resourceOutputSchema } from '../../platform/resource-kinds.js';
import {
  applyOutcomeSchema,
  componentStatusSchema,
  platformEventSchema,
  replicaLogLineSchema,
  workflowLogLineSchema,
} from '../../platform/contracts.js';
import { problemSchema } from '../problem.js';

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

export const platformRoutes: FastifyPluginAsyncZod<{ platform: PlatformService }> = (app, { platform }) => {
  app.post(
    '/api/v1/apply',
    {
      schema: {
        tags: ['apply'],
        summary: 'Apply resource documents all-or-nothing',
        description: 'Creates or updates every document, or nothing when any of them is invalid.',
        body: applyBodySchema,
        response: { 200: applyOutcomeSchema, ...errorResponses },
      },
    },
    (request) =>
      platform.apply(request.body.documents, {
        baseDir: request.body.baseDir,
        dryRun: request.body.dryRun,
        defaultNamespace: request.body.namespace,
      }),
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
        items: await platform.list(kind, { ...request.query, namespace: namespaceOf(request.params) }),
      }),
    );

    if (info.scope === 'namespaced') {
      app.get(
        `/api/v1/${info.plural}`,
        {
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
          items: await platform.list(kind, request.query),
        }),
      );
    }

    app.get(
      `${base}/:name`,
      { schema: { tags, summary: `Read a ${kind}`, params, response: { 200: output, ...errorResponses } } },
      (request) => platform.get(kind, namespaceOf(request.params), request.params.name),
    );

    if (info.applicable) {
      app.put(
        `${base}/:name`,
        {
          schema: {
            tags,
            summary: `Create or update a ${kind}`,
            params,
            body: z.object({ metadata: z.object({ name: z.string() }).loose() }).loose(),
            querystring: z.strictObject({ dryRun: queryBoolean.optional() }),
            response: { 200: applyOutcomeSchema, ...errorResponses },
          },
        },
        (request) => {
          const { name } = request.params;
          const namespace = namespaceOf(request.params);
          const metadata = request.body.metadata as { name: string; namespace?: unknown };
          if (
            metadata.name !== name ||
            (namespace !== '' && metadata.namespace !== undefined && metadata.namespace !== namespace)
          ) {
            throw new InvalidError('the document does not match the URL', [
              {
                path: 'metadata',
                message: `expected name ${name}${namespace === '' ? '' : ` in namespace ${namespace}`}`,
              },
            ]);
          }
          const document = {
            ...request.body,
            kind,
            metadata: { ...metadata, ...(namespace === '' ? {} : { namespace }) },
          };
          return platform.apply([document], { dryRun: request.query.dryRun });
        },
      );
    }

    app.delete(
      `${base}/:name`,
      {
        schema: {
          tags,
          summary: `Delete a ${kind}`,
          description:
            kind === 'Component'
              ? 'Also deletes its releases, bindings (stopping their replicas) and workflow runs.'
              : undefined,
          params,
          response: { 200: z.object({ items: applyOutcomeSchema.shape.items }), ...errorResponses },
        },
      },
      async (request) => ({
        items: await platform.delete(kind, namespaceOf(request.params), request.params.name),
      }),
    );
  }

  const componentParams = z.object({ namespace: resourceNameSchema, name: resourceNameSchema });

  app.get(
    '/api/v1/namespaces/:namespace/components/:name/status',
    {
      schema: {
        tags: ['components'],
        summary: 'Live status of a component in every environment',
        params: componentParams,
        response: { 200: componentStatusSchema, ...errorResponses },
      },
    },
    (request) => platform.componentStatus(request.params.namespace, request.params.name),
  );

  app.get(
    '/api/v1/namespaces/:namespace/components/:name/logs',
    {
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
      lines: await platform.logs({
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
      lines: await platform.workflowLogs(request.params.namespace, request.params.name, {
        afterSequence: request.query.after,
        limit: request.query.limit,
      }),
    }),
  );

  const eventsResponse = z.object({
    apiVersion: z.string(),
    kind: z.literal('EventList'),
    items: z.array(platformEventSchema),
  });
  app.get(
    '/api/v1/events',
    {
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
      items: await platform.events(request.query),
    }),
  );
  app.get(
    '/api/v1/namespaces/:namespace/events',
    {
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
      items: await platform.events({ ...request.query, namespace: request.params.namespace }),
    }),
  );

  return Promise.resolve();
};
