// REST routes of alerting: current alerts, their history, and the Alertmanager webhook receiver.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { resourceNameSchema } from '../../platform/resource-kinds.js';
import {
  alertEventSchema,
  alertSchema,
  alertStates,
  alertmanagerPayloadSchema,
  sloStatusSchema,
} from '../../telemetry/alerting/contracts.js';
import { governed } from '../authentication.js';
import { problemSchema } from '../problem.js';
import { route } from '../route-actions.js';

const tags = ['alerts'];

export const alertRoutes: FastifyPluginAsyncZod = (app) => {
  app.get(
    '/api/v1/alerts',
    {
      ...route('GET /api/v1/alerts'),
      schema: {
        tags,
        summary: 'Alerts (one per rule and label set), most recently changed first',
        querystring: z.object({
          namespace: resourceNameSchema.optional(),
          state: z.enum(alertStates).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
        }),
        response: { 200: z.object({ items: z.array(alertSchema) }), 400: problemSchema },
      },
    },
    async (request) => ({ items: await governed(request).alerts(request.query) }),
  );
  app.get(
    '/api/v1/alerts/history',
    {
      ...route('GET /api/v1/alerts/history'),
      schema: {
        tags,
        summary: 'State changes of alerts (pending, firing, resolved), newest first',
        querystring: z.object({
          namespace: resourceNameSchema.optional(),
          fingerprint: z.string().optional(),
          since: z.iso.datetime({ offset: true }).optional(),
          limit: z.coerce.number().int().min(1).max(5000).default(500),
        }),
        response: { 200: z.object({ items: z.array(alertEventSchema) }), 400: problemSchema },
      },
    },
    async (request) => ({ items: await governed(request).alertHistory(request.query) }),
  );
  app.get(
    '/api/v1/slo-status',
    {
      ...route('GET /api/v1/slo-status'),
      schema: {
        tags,
        summary: 'Each SLO of a namespace: indicator over its window, error budget left, burn rate, alerting',
        querystring: z.object({ namespace: resourceNameSchema }),
        response: {
          200: z.object({ items: z.array(sloStatusSchema) }),
          400: problemSchema,
          403: problemSchema,
        },
      },
    },
    async (request) => ({ items: await governed(request).sloStatus(request.query.namespace) }),
  );
  app.post(
    '/api/v1/alerts/alertmanager',
    {
      ...route('POST /api/v1/alerts/alertmanager'),
      schema: {
        tags,
        summary: 'Alertmanager webhook receiver: its alerts join the same history',
        body: alertmanagerPayloadSchema,
        response: { 200: z.object({ received: z.number(), changed: z.number() }), 400: problemSchema },
      },
    },
    async (request) => ({
      received: request.body.alerts.length,
      changed: await governed(request).receiveAlertmanager(request.body),
    }),
  );
  return Promise.resolve();
};
