// REST routes of the telemetry queries under /api/v1/telemetry. Thin: validate with the contract schemas, call
// the query service, return its answer.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  dependencyGraphSchema,
  dependencyQuerySchema,
  errorSummaryQuerySchema,
  errorSummarySchema,
  logQuerySchema,
  logResultSchema,
  metricQuerySchema,
  metricResultSchema,
  resourceUsageQuerySchema,
  resourceUsageSchema,
  traceQuerySchema,
  traceSchema,
  traceSearchResultSchema,
} from '../../telemetry/query/contracts.js';
import { resourceNameSchema } from '../../platform/resource-kinds.js';
import { governed } from '../authentication.js';
import { problemSchema } from '../problem.js';
import { route } from '../route-actions.js';

const errors = { 400: problemSchema, 404: problemSchema, 503: problemSchema };
const tags = ['telemetry'];

export const telemetryRoutes: FastifyPluginAsyncZod<{
  /** Base URL of the OTLP receiver, once it listens (undefined when it is disabled). */
  otlpEndpoint: () => string | undefined;
}> = (app, { otlpEndpoint }) => {
  app.get(
    '/api/v1/telemetry/receiver',
    {
      ...route('GET /api/v1/telemetry/receiver'),
      schema: {
        tags,
        summary: 'Where to send OTLP/HTTP telemetry (null when the receiver is disabled)',
        response: {
          200: z.object({
            otlpEndpoint: z.string().nullable(),
            paths: z.object({ traces: z.string(), metrics: z.string(), logs: z.string() }),
          }),
        },
      },
    },
    () => ({
      otlpEndpoint: otlpEndpoint() ?? null,
      paths: { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' },
    }),
  );
  app.get(
    '/api/v1/telemetry/logs',
    {
      ...route('GET /api/v1/telemetry/logs'),
      schema: {
        tags,
        summary:
          'Search logs (namespace required): severity, text or regex, trace id, window, context lines, paging',
        querystring: logQuerySchema,
        response: { 200: logResultSchema, ...errors },
      },
    },
    (request) => governed(request).queryLogs(request.query),
  );
  app.get(
    '/api/v1/telemetry/errors',
    {
      ...route('GET /api/v1/telemetry/errors'),
      schema: {
        tags,
        summary:
          'Error summary: top log templates with counts, first/last seen, trend, samples and trace ids',
        querystring: errorSummaryQuerySchema,
        response: { 200: errorSummarySchema, ...errors },
      },
    },
    (request) => governed(request).errorSummary(request.query),
  );
  app.get(
    '/api/v1/telemetry/metrics',
    {
      ...route('GET /api/v1/telemetry/metrics'),
      schema: {
        tags,
        summary:
          'Metric series by component: stored metrics, or request_rate, error_rate, latency_p50|p95|p99, cpu, memory',
        querystring: metricQuerySchema,
        response: { 200: metricResultSchema, ...errors },
      },
    },
    (request) => governed(request).metrics(request.query),
  );
  app.get(
    '/api/v1/telemetry/metric-names',
    {
      ...route('GET /api/v1/telemetry/metric-names'),
      schema: {
        tags,
        summary: 'Names of metrics stored for a scope, most reported first',
        querystring: z.object({
          namespace: resourceNameSchema,
          component: z.string().optional(),
          environment: resourceNameSchema.optional(),
        }),
        response: { 200: z.object({ derived: z.array(z.string()), stored: z.array(z.string()) }), ...errors },
      },
    },
    async (request) => ({
      derived: ['request_rate', 'error_rate', 'latency_p50', 'latency_p95', 'latency_p99', 'cpu', 'memory'],
      stored: await governed(request).metricNames(request.query),
    }),
  );
  app.get(
    '/api/v1/telemetry/traces',
    {
      ...route('GET /api/v1/telemetry/traces'),
      schema: {
        tags,
        summary: 'Search traces by service, operation, minimum duration, status and window',
        querystring: traceQuerySchema,
        response: { 200: traceSearchResultSchema, ...errors },
      },
    },
    (request) => governed(request).traces(request.query),
  );
  app.get(
    '/api/v1/telemetry/traces/:traceId',
    {
      ...route('GET /api/v1/telemetry/traces/:traceId'),
      schema: {
        tags,
        summary: 'One trace as a span tree with self times and its critical path',
        params: z.object({ traceId: z.string() }),
        querystring: z.object({ namespace: resourceNameSchema }),
        response: { 200: traceSchema, ...errors },
      },
    },
    (request) => governed(request).trace(request.params.traceId, request.query.namespace),
  );
  app.get(
    '/api/v1/telemetry/dependencies',
    {
      ...route('GET /api/v1/telemetry/dependencies'),
      schema: {
        tags,
        summary:
          'Service dependency graph from spans, with request rate, error rate and p95 latency per node and edge',
        querystring: dependencyQuerySchema,
        response: { 200: dependencyGraphSchema, ...errors },
      },
    },
    (request) => governed(request).dependencies(request.query),
  );
  app.get(
    '/api/v1/telemetry/resource-usage',
    {
      ...route('GET /api/v1/telemetry/resource-usage'),
      schema: {
        tags,
        summary: 'Cpu and memory used per binding, next to its requests and limits',
        querystring: resourceUsageQuerySchema,
        response: { 200: resourceUsageSchema, ...errors },
      },
    },
    (request) => governed(request).resourceUsage(request.query),
  );
  return Promise.resolve();
};
