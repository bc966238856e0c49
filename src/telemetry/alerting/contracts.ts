// Contracts of alerting: the alert view returned by REST (and MCP next), and Alertmanager's webhook payload.
import { z } from 'zod';

export const alertStates = ['pending', 'firing', 'resolved'] as const;

export const alertTopics = { firing: 'alerts.firing', resolved: 'alerts.resolved' } as const;

export const alertSchema = z
  .object({
    fingerprint: z.string(),
    source: z.string(),
    rule: z.string(),
    namespace: z.string(),
    component: z.string().nullable(),
    environment: z.string().nullable(),
    severity: z.string(),
    state: z.enum(alertStates),
    value: z.number().nullable(),
    summary: z.string(),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()),
    triggerAiRca: z.boolean(),
    groupKey: z.string(),
    startedAt: z.string(),
    firedAt: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Alert' });
export type AlertView = z.infer<typeof alertSchema>;

export const alertEventSchema = z
  .object({
    fingerprint: z.string(),
    namespace: z.string(),
    rule: z.string(),
    state: z.enum(alertStates),
    at: z.string(),
    value: z.number().nullable(),
    message: z.string(),
  })
  .meta({ id: 'AlertEvent' });
export type AlertEventView = z.infer<typeof alertEventSchema>;

/** Alertmanager's webhook body (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const alertmanagerPayloadSchema = z.looseObject({
  version: z.string().optional(),
  groupKey: z.string().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  externalURL: z.string().optional(),
  alerts: z
    .array(
      z.looseObject({
        status: z.enum(['firing', 'resolved']),
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.string(),
        endsAt: z.string().optional(),
        generatorURL: z.string().optional(),
        fingerprint: z.string().optional(),
      }),
    )
    .max(10_000),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;

export const sloStatusSchema = z
  .object({
    name: z.string(),
    component: z.string(),
    environment: z.string(),
    objective: z.number().describe('Percentage of good requests'),
    window: z.string(),
    indicator: z.string().describe('availability, or latency < N ms'),
    total: z.number().describe('Requests in the window'),
    bad: z.number(),
    sli: z.number().nullable().describe('Good requests in the window, percent; null without requests'),
    observedSeconds: z
      .number()
      .describe(
        'Time observed within the window (since its first request); less than the window on new data',
      ),
    errorBudgetRemaining: z
      .number()
      .nullable()
      .describe(
        "Share of the window's error budget left (1 = untouched, below 0 = overspent), over the time observed: the budget is the objective's share of the requests the window sees at the observed rate",
      ),
    burnRate1h: z.number().nullable().describe('Error-budget burn rate over the last hour (1 = on budget)'),
    firing: z.boolean().describe('One of its burn-rate alerts fires'),
  })
  .meta({ id: 'SloStatus' });
export type SloStatusView = z.infer<typeof sloStatusSchema>;
