// The dashboard: the single-page app built from web/ into dist/web, served at `/` without a token (it signs in
// with one; every API call it makes is authenticated). Hashed assets are cached for good, the page never.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { route } from '../route-actions.js';

export const dashboardRoutes: FastifyPluginAsync<{ root: string }> = async (app, { root }) => {
  await app.register(fastifyStatic, { root, serve: false });
  const built = () => existsSync(join(root, 'index.html'));
  app.get('/', { ...route('GET /'), schema: { hide: true } }, (_request, reply) => {
    if (!built()) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `npm run build` (it builds web/ into dist/web).\n');
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  });
  app.get<{ Params: { '*': string } }>(
    '/assets/*',
    { ...route('GET /assets/*'), schema: { hide: true } },
    (request, reply) =>
      reply.sendFile(join('assets', request.params['*']), { immutable: true, maxAge: '365d' }),
  );
};
