// Live updates for the dashboard: server-sent events of what changes in a namespace (alert, approval, change,
// status), filtered to what the caller may read. A `ping` every 15 s keeps proxies from closing the stream.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { resourceNameSchema } from '../../platform/resource-kinds.js';
import { governed } from '../authentication.js';
import { route } from '../route-actions.js';

export const streamRoutes: FastifyPluginAsyncZod = (app) => {
  const streams = new Set<{ close(): void; end(): void }>();
  app.get(
    '/api/v1/stream',
    {
      ...route('GET /api/v1/stream'),
      schema: {
        tags: ['live'],
        summary: 'What changes in a namespace, as server-sent events',
        description:
          'Events `alert`, `approval`, `change`, `status` with {namespace, summary, at}, as they happen; `ping` every 15 s. Each needs the read it would take to see the thing itself (alerts.read, proposals.read, platform.read).',
        querystring: z.strictObject({ namespace: resourceNameSchema }),
      },
    },
    async (request, reply) => {
      const raw = reply.raw;
      // Authorized (or refused with a problem answer) before the stream opens; changes in between are kept.
      const early: string[] = [];
      let open = false;
      const send = (text: string) => {
        if (open) raw.write(text);
        else early.push(text);
      };
      const unsubscribe = await governed(request).watchChanges(request.query.namespace, (change) => {
        send(`event: ${change.topic}\ndata: ${JSON.stringify(change)}\n\n`);
      });
      reply.hijack();
      if (raw.destroyed) {
        // The client left while the subscription was authorized and audited.
        unsubscribe();
        return;
      }
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      open = true;
      raw.write('event: ping\ndata: {}\n\n');
      for (const text of early) raw.write(text);
      const ping = setInterval(() => raw.write('event: ping\ndata: {}\n\n'), 15_000);
      const stream = {
        close() {
          clearInterval(ping);
          unsubscribe();
          streams.delete(stream);
        },
        end() {
          stream.close();
          raw.end();
        },
      };
      streams.add(stream);
      raw.on('close', () => {
        stream.close();
      });
    },
  );
  // A closing server ends its streams first, so that it can close.
  app.addHook('preClose', (done) => {
    for (const stream of [...streams]) stream.end();
    done();
  });
  return Promise.resolve();
};
