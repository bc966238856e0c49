// REST routes of the demo shop's fault scenarios, registered only when the server runs with `--demo`. Faults and
// heals are proposals by demo:chaos; the caller may approve them in the same request (as themselves).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DemoFaults } from '../../demo/demo-faults.js';
import { resourceNameSchema } from '../../platform/resource-kinds.js';
import { governed } from '../authentication.js';
import { problemSchema } from '../problem.js';
import { route } from '../route-actions.js';

const tags = ['demo'];
const proposals = z.array(
  z.object({ id: z.string(), title: z.string(), status: z.string(), approvedBy: z.string().optional() }),
);
const outcome = z.object({ proposals });
const approve = z
  .boolean()
  .default(false)
  .describe('approve, as the caller, each proposal that waits for a person (needs proposal.approve)');

export const demoRoutes: FastifyPluginAsyncZod<{ faults: DemoFaults }> = (app, { faults }) => {
  app.get(
    '/api/v1/demo/faults',
    {
      ...route('GET /api/v1/demo/faults'),
      schema: {
        tags,
        summary: 'Fault scenarios of the demo shop, with the root cause each should be found to have',
        response: {
          200: z.object({
            items: z.array(
              z.object({
                name: z.string(),
                description: z.string(),
                truth: z.object({ component: z.string(), kind: z.string() }),
              }),
            ),
          }),
        },
      },
    },
    (request) => {
      governed(request);
      return Promise.resolve({
        items: faults.list().map(({ name, description, truth }) => ({ name, description, truth })),
      });
    },
  );
  app.post(
    '/api/v1/demo/faults/:name',
    {
      ...route('POST /api/v1/demo/faults/:name'),
      schema: {
        tags,
        summary: 'Inject a fault: demo:chaos proposes it, guardrails judge it, the caller may approve it',
        params: z.object({ name: z.string().min(1) }),
        body: z
          .strictObject({ environment: resourceNameSchema.default('prod'), approve })
          .default({ environment: 'prod', approve: false }),
        response: {
          200: z.object({
            fault: z.string(),
            environment: z.string(),
            changes: z.array(z.string()),
            proposals,
          }),
          403: problemSchema,
          404: problemSchema,
        },
      },
    },
    (request) =>
      faults.inject(governed(request), request.params.name, request.body.environment, request.body.approve),
  );
  app.post(
    '/api/v1/demo/heal',
    {
      ...route('POST /api/v1/demo/heal'),
      schema: {
        tags,
        summary: 'Put the demo shop back as demo/shop.yaml declares it (a proposal by demo:chaos)',
        body: z.strictObject({ approve }).default({ approve: false }),
        response: { 200: outcome, 403: problemSchema },
      },
    },
    (request) => faults.heal(governed(request), request.body.approve),
  );
  return Promise.resolve();
};
