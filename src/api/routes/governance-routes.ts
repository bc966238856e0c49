// REST routes of the governance gateway: the token endpoint and metadata (public), who-am-I, proposals
// (list, show, approve, reject) and the audit log (query, verify).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidError, UnauthenticatedError } from '../../core/errors.js';
import type { GovernanceGateway } from '../../governance/gateway.js';
import { actions } from '../../governance/authz/actions.js';
import {
  proposalSchema,
  proposalStatuses,
  proposalSummary,
  proposalSummarySchema,
} from '../../governance/proposals/contracts.js';
import { resourceNameSchema } from '../../platform/resource-kinds.js';
import { governed, mcpPaths } from '../authentication.js';
import { problemSchema } from '../problem.js';
import { route } from '../route-actions.js';

const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
  503: problemSchema,
};

const auditRecordSchema = z
  .object({
    seq: z.number(),
    id: z.string(),
    at: z.string(),
    principal: z.string(),
    principalKind: z.string(),
    client: z.string(),
    edge: z.string(),
    action: z.string(),
    namespace: z.string(),
    target: z.string(),
    argsDigest: z.string(),
    decision: z.string(),
    reasons: z.array(z.string()),
    result: z.string(),
    details: z.unknown(),
    latencyMs: z.number(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'AuditRecord' });

export const verifyResultSchema = z
  .object({
    ok: z.boolean(),
    checked: z.number(),
    head: z.object({ seq: z.number(), hash: z.string() }).nullable(),
    firstBroken: z.object({ seq: z.number(), id: z.string(), problem: z.string() }).nullable(),
    problems: z
      .array(z.string())
      .describe('Everything found: missing:, reordered:, rewritten:, truncated:, checkpoints: …'),
    checkpoints: z.object({
      file: z.string(),
      count: z.number(),
      latest: z.object({ seq: z.number(), at: z.string() }).nullable(),
      newerRecords: z.number().describe('Records after the latest checkpoint (deleting them would not show)'),
    }),
  })
  .meta({ id: 'AuditVerifyResult' });

export const governanceRoutes: FastifyPluginAsyncZod<{ governance: GovernanceGateway }> = (
  app,
  { governance },
) => {
  const auth = governance.auth;

  app.get('/.well-known/jwks.json', { ...route('GET /.well-known/jwks.json'), schema: { hide: true } }, () =>
    governance.jwks(),
  );

  // Metadata names the server's own URL (server.publicUrl or the listen address), never the request's Host.
  const tokens = governance;
  // RFC 9728: which authorization servers issue tokens for this resource, and how to present them.
  const resourceMetadata = (path: string) => ({
    resource: `${tokens.serverUrl}${path}`,
    authorization_servers: [tokens.issuer, ...auth.externalIssuers.map((issuer) => issuer.issuer)],
    bearer_methods_supported: ['header'],
    jwks_uri: `${tokens.serverUrl}/.well-known/jwks.json`,
    resource_name: 'opspilot',
    resource_documentation:
      'https://github.com/opspilot/opspilot/blob/main/docs/connect-your-ai-assistant.md',
  });
  app.get(
    '/.well-known/oauth-protected-resource',
    { ...route('GET /.well-known/oauth-protected-resource'), schema: { hide: true } },
    () => resourceMetadata(''),
  );
  for (const path of mcpPaths) {
    app.get(
      `/.well-known/oauth-protected-resource${path}`,
      { ...route(`GET /.well-known/oauth-protected-resource${path}`), schema: { hide: true } },
      () => resourceMetadata(path),
    );
  }
  // RFC 8414 metadata of the built-in issuer (client_credentials only).
  app.get(
    '/.well-known/oauth-authorization-server',
    { ...route('GET /.well-known/oauth-authorization-server'), schema: { hide: true } },
    () => ({
      issuer: tokens.issuer,
      token_endpoint: `${tokens.serverUrl}/oauth/token`,
      jwks_uri: `${tokens.serverUrl}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      response_types_supported: [],
    }),
  );

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  app.get(
    '/api/v1/auth/config',
    {
      ...route('GET /api/v1/auth/config'),
      schema: {
        tags: ['auth'],
        summary: 'How the dashboard may sign in: with a token, or with these OpenID Connect issuers',
        response: {
          200: z.object({
            issuers: z.array(
              z.object({ name: z.string(), issuer: z.string(), clientId: z.string(), scopes: z.string() }),
            ),
          }),
        },
      },
    },
    () => ({
      issuers: auth.externalIssuers.flatMap((issuer) =>
        issuer.dashboard === undefined
          ? []
          : [
              {
                name: issuer.dashboard.name ?? new URL(issuer.issuer).host,
                issuer: issuer.issuer,
                clientId: issuer.dashboard.clientId,
                scopes: issuer.dashboard.scopes,
              },
            ],
      ),
    }),
  );
  app.post(
    '/oauth/token',
    {
      ...route('POST /oauth/token'),
      schema: {
        tags: ['auth'],
        summary: 'OAuth 2.1 token endpoint (client_credentials) for service accounts and agents',
        body: z.object({
          grant_type: z.string(),
          client_id: z.string().optional(),
          client_secret: z.string().optional(),
          scope: z.string().optional(),
        }),
      },
    },
    async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      let { client_id: clientId, client_secret: clientSecret } = request.body;
      const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      if (basic?.[1] !== undefined) {
        const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
        const separator = decoded.indexOf(':');
        clientId = decodeURIComponent(decoded.slice(0, separator));
        clientSecret = decodeURIComponent(decoded.slice(separator + 1));
      }
      if (request.body.grant_type !== 'client_credentials') {
        return reply.code(400).send({
          error: 'unsupported_grant_type',
          error_description: 'only client_credentials is supported',
        });
      }
      if (clientId === undefined || clientSecret === undefined) {
        return reply
          .code(400)
          .send({ error: 'invalid_request', error_description: 'client_id and client_secret are required' });
      }
      try {
        const issued = await governance.clientCredentials(clientId, clientSecret);
        return { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn };
      } catch (error) {
        if (!(error instanceof UnauthenticatedError)) throw error;
        return reply
          .code(401)
          .header('www-authenticate', 'Basic realm="opspilot"')
          .send({ error: 'invalid_client', error_description: error.message });
      }
    },
  );

  app.get(
    '/api/v1/auth/whoami',
    {
      ...route('GET /api/v1/auth/whoami'),
      schema: {
        tags: ['auth'],
        summary: 'The caller: subject, kind, grants (token and RoleBindings)',
        response: {
          200: z.object({
            subject: z.string(),
            kind: z.string(),
            issuer: z.string(),
            autonomy: z.number(),
            grants: z.array(z.object({ role: z.string(), scope: z.record(z.string(), z.string()) })),
            allowed: z
              .record(z.string(), z.union([z.literal('*'), z.array(z.string())]))
              .describe('Per action, the namespaces where the caller may do it (* for all); absent: nowhere'),
          }),
          ...errors,
        },
      },
    },
    (request) => {
      const { principal } = governed(request).caller;
      return {
        subject: principal.subject,
        kind: principal.kind,
        issuer: principal.issuer,
        autonomy: principal.autonomy,
        grants: governance.grantsOf(principal).map((grant) => ({
          role: grant.role,
          scope: Object.fromEntries(Object.entries(grant.scope).filter(([, value]) => value !== undefined)),
        })),
        allowed: Object.fromEntries(
          actions
            .map((action) => [action, governance.namespacesFor(principal, action)] as const)
            .filter(([, namespaces]) => namespaces === '*' || namespaces.length > 0),
        ),
      };
    },
  );

  app.get(
    '/api/v1/proposals',
    {
      ...route('GET /api/v1/proposals'),
      schema: {
        tags: ['proposals'],
        summary: 'Proposals the caller may see, newest first',
        querystring: z.strictObject({
          namespace: resourceNameSchema.optional(),
          status: z.string().optional().describe('Comma-separated statuses, e.g. pending,verifying'),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: { 200: z.object({ items: z.array(proposalSummarySchema) }), ...errors },
      },
    },
    async (request) => {
      const statuses = request.query.status?.split(',').map((status) => status.trim());
      const unknown = statuses?.filter((status) => !(proposalStatuses as readonly string[]).includes(status));
      if (unknown !== undefined && unknown.length > 0) {
        throw new InvalidError(`unknown status ${unknown.join(', ')}`, [], {
          hint: `Statuses: ${proposalStatuses.join(', ')}.`,
        });
      }
      const proposals = await governed(request).listProposals({
        namespace: request.query.namespace,
        ...(statuses === undefined ? {} : { statuses: statuses as (typeof proposalStatuses)[number][] }),
        limit: request.query.limit,
      });
      return { items: proposals.map(proposalSummary) };
    },
  );
  const idParams = z.object({ id: z.string().min(1).max(100) });
  app.get(
    '/api/v1/proposals/:id',
    {
      ...route('GET /api/v1/proposals/:id'),
      schema: {
        tags: ['proposals'],
        summary: 'One proposal with its diff, blast radius, verdicts and outcome',
        params: idParams,
        response: { 200: proposalSchema, ...errors },
      },
    },
    (request) => governed(request).getProposal(request.params.id),
  );
  const decisionBody = z.strictObject({ comment: z.string().max(2000).optional() }).default({});
  app.post(
    '/api/v1/proposals/:id/approve',
    {
      ...route('POST /api/v1/proposals/:id/approve'),
      schema: {
        tags: ['proposals'],
        summary: 'Approve a pending proposal of someone else; it runs at once',
        params: idParams,
        body: decisionBody,
        response: { 200: proposalSchema, ...errors },
      },
    },
    (request) => governed(request).approve(request.params.id, request.body.comment),
  );
  app.post(
    '/api/v1/proposals/:id/reject',
    {
      ...route('POST /api/v1/proposals/:id/reject'),
      schema: {
        tags: ['proposals'],
        summary: 'Reject a pending proposal of someone else',
        params: idParams,
        body: decisionBody,
        response: { 200: proposalSchema, ...errors },
      },
    },
    (request) => governed(request).reject(request.params.id, request.body.comment),
  );

  app.get(
    '/api/v1/audit',
    {
      ...route('GET /api/v1/audit'),
      schema: {
        tags: ['audit'],
        summary:
          'Audit records, newest first: filter by namespace, principal, action, target prefix, decision, time',
        querystring: z.strictObject({
          namespace: resourceNameSchema.optional(),
          principal: z.string().optional(),
          action: z.string().optional(),
          target: z.string().optional(),
          decision: z.string().optional(),
          since: z.iso.datetime({ offset: true }).optional(),
          until: z.iso.datetime({ offset: true }).optional(),
          before: z.coerce
            .number()
            .int()
            .min(1)
            .optional()
            .describe('Only records with seq below this (paging)'),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: { 200: z.object({ items: z.array(auditRecordSchema) }), ...errors },
      },
    },
    async (request) => {
      const { before, ...filter } = request.query;
      const records = await governed(request).auditEvents({ ...filter, beforeSeq: before });
      return { items: records.map((record) => ({ ...record, reasons: [...record.reasons] })) };
    },
  );
  app.get(
    '/api/v1/audit/verify',
    {
      ...route('GET /api/v1/audit/verify'),
      schema: {
        tags: ['audit'],
        summary: 'Recompute the keyed chain and check the signed checkpoints; report what is wrong',
        response: { 200: verifyResultSchema, ...errors },
      },
    },
    async (request) => {
      const result = await governed(request).verifyAudit();
      return { ...result, problems: [...result.problems] };
    },
  );
  return Promise.resolve();
};
