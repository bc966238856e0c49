// Builds the REST API (Fastify). It never listens: the composition root does. Routes are thin: they validate,
// call the platform service, and shape the answer; errors become problem+json in problem.ts, and every request
// is audited (request-audit.ts).
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
import type { GovernanceGateway } from '../governance/gateway.js';
import { installAuthentication } from './authentication.js';
import { installJsonDepthLimit } from './json-depth.js';
import { frameworkErrorHandler, installRequestAudit } from './request-audit.js';
import { route } from './route-actions.js';
import { governanceRoutes } from './routes/governance-routes.js';
import { errorHandler } from './problem.js';
import { platformRoutes } from './routes/platform-routes.js';
import { telemetryRoutes } from './routes/telemetry-routes.js';
import { alertRoutes } from './routes/alert-routes.js';
import { rcaRoutes, type RcaInvestigator } from './routes/rca-routes.js';
import type { ReportWriter } from '../rca/writer.js';
import type { DemoFaults } from '../demo/demo-faults.js';
import { dashboardRoutes } from './routes/dashboard-routes.js';
import { streamRoutes } from './routes/stream-routes.js';
import { demoRoutes } from './routes/demo-routes.js';

export interface ApiOptions {
  /** Every route reaches the platform, telemetry and alerts through it. */
  readonly governance: GovernanceGateway;
  /** Serve the telemetry routes (the query service lives in the governance options). */
  readonly telemetry?: boolean;
  /** Base URL of the OTLP receiver once it listens. */
  readonly otlpEndpoint?: () => string | undefined;
  readonly alerts?: boolean;
  /** Serve the RCA routes; investigations run on it. */
  readonly rca?: RcaInvestigator | undefined;
  /** Answers chat about reports (an LLM), when configured. */
  readonly writer?: ReportWriter | undefined;
  /** The demo shop's fault scenarios. */
  readonly demoFaults?: DemoFaults | undefined;
  /** Folder of the built dashboard (dist/web): served at `/`. */
  readonly dashboardRoot?: string | undefined;
  /** Registers more routes (the MCP endpoints) after authentication is installed. */
  readonly extraRoutes?: (app: FastifyInstance) => Promise<void>;
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
    // MCP clients may hold streams open (2026-07-28 subscriptions, legacy SSE); stopping must not wait for them.
    forceCloseConnections: true,
    // Refusals before routing (a malformed or over-long path) are answered and audited like the others.
    frameworkErrors: frameworkErrorHandler(options.governance),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  installJsonDepthLimit(app);
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

  // The trail first: authentication's own refusals are counted on it.
  installRequestAudit(app, options.governance);
  installAuthentication(app, options.governance);
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get('/healthz', { ...route('GET /healthz'), schema: { hide: true } }, () => ({
    status: 'ok',
    version: options.version,
  }));
  typed.get('/api/v1/openapi.json', { ...route('GET /api/v1/openapi.json'), schema: { hide: true } }, () =>
    app.swagger(),
  );
  await app.register(governanceRoutes, { governance: options.governance });
  await app.register(platformRoutes);
  await app.register(streamRoutes);
  if (options.telemetry === true) {
    await app.register(telemetryRoutes, { otlpEndpoint: options.otlpEndpoint ?? (() => undefined) });
  }
  if (options.alerts === true) await app.register(alertRoutes);
  if (options.rca !== undefined) {
    await app.register(rcaRoutes, { investigator: options.rca, writer: options.writer });
  }
  if (options.demoFaults !== undefined) await app.register(demoRoutes, { faults: options.demoFaults });
  if (options.dashboardRoot !== undefined)
    await app.register(dashboardRoutes, { root: options.dashboardRoot });
  if (options.extraRoutes !== undefined) await options.extraRoutes(app);
  return app;
}
