// Builds the REST API (Fastify). It never listens: the composition root does. Routes are thin: they validate,
// call the platform service, and shape the answer; errors become problem+json in problem.ts.
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { parseAllDocuments } from 'yaml';
import type { Logger } from '../core/logger.js';
import type { PlatformService } from '../platform/platform-service.js';
import { errorHandler } from './problem.js';
import { platformRoutes } from './routes/platform-routes.js';
import { telemetryRoutes } from './routes/telemetry-routes.js';
import { alertRoutes } from './routes/alert-routes.js';
import type { AlertService } from '../telemetry/alerting/alert-service.js';
import type { TelemetryQueryService } from '../telemetry/query/telemetry-query-service.js';

export interface ApiOptions {
  readonly platform: PlatformService;
  /** Telemetry queries; the routes are left out when absent. */
  readonly telemetry?: TelemetryQueryService;
  /** Base URL of the OTLP receiver once it listens. */
  readonly otlpEndpoint?: () => string | undefined;
  readonly alerts?: AlertService;
  readonly logger: Logger;
  readonly version: string;
}

export async function createApi(options: ApiOptions): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance: logger,
    // Requests are logged at debug level by the onResponse hook below, not at info by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 5 * 1024 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
    done();
  });
  // `curl --data-binary @file.yaml -H 'content-type: application/yaml'` works for apply.
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml'],
    { parseAs: 'string' },
    (_request, body, done) => {
      try {
        const documents = parseAllDocuments(body as string);
        const list = Array.isArray(documents) ? documents : [documents];
        const broken = list.flatMap((document) => document.errors);
        if (broken.length > 0) {
          done(
            Object.assign(new Error(`the YAML body does not parse: ${broken[0]?.message ?? ''}`), {
              statusCode: 400,
            }),
          );
          return;
        }
        done(null, {
          documents: list.map((document) => document.toJS() as unknown).filter((value) => value !== null),
        });
      } catch (error) {
        done(Object.assign(error as Error, { statusCode: 400 }));
      }
    },
  );

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'opspilot API',
        version: options.version,
        description: 'Control plane of opspilot: declarative resources, live status and events.',
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok', version: options.version }));
  typed.get('/api/v1/openapi.json', { schema: { hide: true } }, () => app.swagger());
  await app.register(platformRoutes, { platform: options.platform });
  if (options.telemetry !== undefined) {
    await app.register(telemetryRoutes, {
      telemetry: options.telemetry,
      otlpEndpoint: options.otlpEndpoint ?? (() => undefined),
    });
  }
  if (options.alerts !== undefined) await app.register(alertRoutes, { alerts: options.alerts });
  return app;
}
