// REST routes of the demo shop's fault scenarios (platform admins only: they change production on purpose).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DemoFaults } from '../../demo/demo-faults.js';
import { resourceNameSchema } from '../../platform/resource-kinds.js';
import { governed } from '../authentication.js';
import { problemSchema } from '../problem.js';
import { route } from '../route-actions.js';

const tags = ['demo'];
const outcome = z.object({
  proposals: z.array(z.object({ id: z.string(), title: z.string(), status: z.string() })),
});

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
        summary: 'Inject a fault: straight to the platform as demo:chaos, outside the guardrails, audited',
        params: z.object({ name: z.string().min(1) }),
        body: z
          .strictObject({ environment: resourceNameSchema.default('prod') })
          .default({ environment: 'prod' }),
        response: {
          200: z.object({ fault: z.string(), environment: z.string(), changes: z.array(z.string()) }),
          403: problemSchema,
          404: problemSchema,
        },
      },
    },
    (request) => {
      governed(request);
      return faults.inject(request.params.name, request.body.environment);
    },
  );
  app.post(
    '/api/v1/demo/heal',
    {
      ...route('POST /api/v1/demo/heal'),
      schema: {
        tags,
        summary: 'Put the demo shop back as demo/shop.yaml declares it',
        response: { 200: outcome, 403: problemSchema },
      },
    },
    (request) => {
      governed(request);
      return faults.heal();
    },
  );
  return Promise.resolve();
};
