// REST routes of root-cause analysis: stored reports, and running an investigation of an alert on demand.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { rcaChatTools } from '../../agents/rca-chat-tools.js';
import { errorMessage, NotFoundError } from '../../core/errors.js';
import type { Caller } from '../../governance/principal.js';
import { resourceNameSchema } from '../../platform/resource-kinds.js';
import { llmUsageSchema, rcaReportSchema, rcaStatuses, type RcaReportView } from '../../rca/contracts.js';
import type { AlertView } from '../../telemetry/alerting/contracts.js';
import { deterministicAnswer, type ReportWriter } from '../../rca/writer.js';
import { governed } from '../authentication.js';
import { problemSchema } from '../problem.js';
import { route } from '../route-actions.js';

/** What runs investigations (the RCA agent). */
export interface RcaInvestigator {
  investigate(caller: Caller, alert: AlertView, trigger: RcaReportView['trigger']): Promise<RcaReportView>;
}

const tags = ['rca'];

export const rcaRoutes: FastifyPluginAsyncZod<{
  investigator: RcaInvestigator;
  writer?: ReportWriter | undefined;
}> = (app, { investigator, writer }) => {
  app.get(
    '/api/v1/rca/reports',
    {
      ...route('GET /api/v1/rca/reports'),
      schema: {
        tags,
        summary: 'RCA reports, newest first',
        querystring: z.object({
          namespace: resourceNameSchema.optional(),
          status: z.enum(rcaStatuses).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: {
          200: z.object({ items: z.array(rcaReportSchema) }),
          400: problemSchema,
          403: problemSchema,
        },
      },
    },
    async (request) => ({ items: await governed(request).rcaReports(request.query) }),
  );
  app.get(
    '/api/v1/rca/reports/:id',
    {
      ...route('GET /api/v1/rca/reports/:id'),
      schema: {
        tags,
        summary: 'One RCA report: ranked root causes with evidence, timeline, excluded causes, remediation',
        params: z.object({ id: z.string().min(1) }),
        response: { 200: rcaReportSchema, 403: problemSchema, 404: problemSchema },
      },
    },
    async (request) => governed(request).rcaReport(request.params.id),
  );
  app.post(
    '/api/v1/rca/reports',
    {
      ...route('POST /api/v1/rca/reports'),
      schema: {
        tags,
        summary: 'Investigate an alert now; answers with the stored report',
        body: z.strictObject({ alert: z.string().min(1).describe('The alert fingerprint') }),
        response: { 201: rcaReportSchema, 400: problemSchema, 403: problemSchema, 404: problemSchema },
      },
    },
    async (request, reply) => {
      const services = governed(request);
      const alerts = await services.alerts({ limit: 5000 });
      const alert = alerts.find((candidate) => candidate.fingerprint === request.body.alert);
      if (alert === undefined) {
        throw new NotFoundError(`no alert with fingerprint ${request.body.alert} that you may see`, {
          hint: 'List alerts with `opspilot get alerts -A -o json` (field fingerprint).',
        });
      }
      const report = await investigator.investigate(services.caller, alert, 'manual');
      return reply.code(201).send(report);
    },
  );
  app.get(
    '/api/v1/llm/usage',
    {
      ...route('GET /api/v1/llm/usage'),
      schema: {
        tags: ['rca'],
        summary:
          "LLM tokens and cost of a namespace's reports this month, per requester and report, with the budget",
        querystring: z.object({ namespace: resourceNameSchema }),
        response: { 200: llmUsageSchema, 400: problemSchema, 403: problemSchema },
      },
    },
    (request) => governed(request).llmUsage(request.query.namespace),
  );
  app.post(
    '/api/v1/rca/reports/:id/chat',
    {
      ...route('POST /api/v1/rca/reports/:id/chat'),
      schema: {
        tags,
        summary: 'Ask about a report; the answer streams as server-sent events',
        description:
          'Events: `delta` {text} (repeated), `tool` {name, input} when the LLM looks something up (read-only, as the caller, audited), then `done` {source: llm | report, usage}. Without an LLM, or when it fails before answering, the answer comes from the report itself (source report).',
        params: z.object({ id: z.string().min(1) }),
        body: z.strictObject({
          message: z.string().min(1).max(4000),
          history: z
            .array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string().max(20_000) }))
            .max(40)
            .default([]),
        }),
      },
    },
    async (request, reply) => {
      const services = governed(request);
      const report = await services.rcaReport(request.params.id);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const send = (event: string, data: unknown) => {
        raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const fromReport = (note: string | null) => {
        send('delta', { text: deterministicAnswer(report, request.body.message) });
        send('done', { source: 'report', usage: null, note });
      };
      try {
        if (writer === undefined) {
          fromReport(null);
          return;
        }
        let sent = false;
        try {
          // The person closed the stream: stop looking things up and spending tokens.
          const left = new AbortController();
          raw.on('close', () => {
            if (!raw.writableEnded) left.abort(new Error('the client went away'));
          });
          const { chunks, done } = writer.answer(
            report,
            request.body.history,
            request.body.message,
            rcaChatTools(services, report),
            left.signal,
          );
          for await (const chunk of chunks) {
            if ('tool' in chunk) {
              send('tool', { name: chunk.tool, input: chunk.input });
              continue;
            }
            sent = true;
            send('delta', { text: chunk.text });
          }
          const usage = await done;
          await services.addRcaUsage(report.id, usage);
          if (sent) send('done', { source: 'llm', usage, note: null });
          else fromReport('answered from the report: the LLM gave no answer');
        } catch (error) {
          request.log.warn({ err: error, report: report.id }, 'the LLM did not answer');
          if (!sent) fromReport(`answered from the report: the LLM failed (${errorMessage(error)})`);
          else send('error', { message: `the LLM stopped: ${errorMessage(error)}` });
        }
      } finally {
        raw.end();
      }
    },
  );
  return Promise.resolve();
};
