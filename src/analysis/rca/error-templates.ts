// Error log templates as evidence: for each root cause, the error messages its service started to log at onset
// (new templates) or logs far more often than before (surging ones). They explain what failed, in the service's
// own words, and each names a sample line and the traces to open. Pure; the templates come from the caller.
import type { Evidence, Localisation, RcaReport, RcaWindow } from './model.js';

export interface TemplateTrend {
  readonly template: string;
  readonly components: readonly string[];
  /** First time the template was ever seen (all retained data). */
  readonly firstEverSeenUs: number;
  /** [bucket start µs, count] over the baseline and incident windows. */
  readonly trend: readonly (readonly [number, number])[];
  readonly samples: readonly string[];
  readonly traceIds: readonly string[];
}

/** A template surges when its rate after onset is at least this many times its rate before (and ≥ 3 lines). */
const surgeFactor = 5;
const minLines = 3;
const perCause = 2;

interface JudgedTemplate {
  readonly template: TemplateTrend;
  readonly before: number;
  readonly after: number;
  readonly isNew: boolean;
  readonly surging: boolean;
}

/** Each template's lines before and after onset, and whether it is new or surging. */
function judgeTemplates(templates: readonly TemplateTrend[], window: RcaWindow): JudgedTemplate[] {
  const baselineSeconds = Math.max(1, (window.onsetUs - window.baselineStartUs) / 1e6);
  const incidentSeconds = Math.max(1, (window.endUs - window.onsetUs) / 1e6);
  return templates.map((template) => {
    // A bucket that reaches past onset counts as after it (buckets can be much wider than the incident so far).
    const width = (template.trend[1]?.[0] ?? 0) - (template.trend[0]?.[0] ?? 0);
    let before = 0;
    let after = 0;
    for (const [time, count] of template.trend) {
      if (time + Math.max(width, 0) > window.onsetUs) after += count;
      else if (time >= window.baselineStartUs) before += count;
    }
    const isNew = template.firstEverSeenUs >= window.onsetUs - 60_000_000;
    if (isNew) {
      // Every line of a new template came after it first appeared.
      after += before;
      before = 0;
    }
    const rateBefore = before / baselineSeconds;
    const rateAfter = after / incidentSeconds;
    const surging = after >= minLines && (rateBefore === 0 || rateAfter >= surgeFactor * rateBefore);
    return { template, before, after, isNew, surging };
  });
}

/**
 * Who began logging new or surging errors at onset, as a vote in the ranking: per service, its lines of such
 * templates since onset, less the lines the template had before (what is new is what counts). A template
 * logged by several services counts for each.
 */
export function templateLocalisation(templates: readonly TemplateTrend[], window: RcaWindow): Localisation {
  const weights = new Map<string, number>();
  for (const item of judgeTemplates(templates, window)) {
    if (!(item.isNew || item.surging) || item.after < minLines) continue;
    for (const service of item.template.components) {
      weights.set(service, (weights.get(service) ?? 0) + item.after - item.before);
    }
  }
  return {
    source: 'log-templates',
    services: [...weights].map(([service, weight]) => ({ service, weight })),
  };
}

export function withErrorTemplates(
  report: RcaReport,
  templates: readonly TemplateTrend[],
  window: RcaWindow,
  query: (template: TemplateTrend) => string,
): RcaReport {
  const judged = judgeTemplates(templates, window);
  return {
    ...report,
    rootCauses: report.rootCauses.map((cause) => {
      const own = judged
        .filter((item) => (item.isNew || item.surging) && item.after > 0)
        .filter((item) => item.template.components.includes(cause.service))
        .sort((a, b) => Number(b.isNew) - Number(a.isNew) || b.after - a.after)
        .slice(0, perCause)
        .map((item): Evidence => ({
          source: 'log',
          metric: 'log.template',
          unit: 'lines',
          summary: `${item.isNew ? 'new error' : 'error surging'} in ${cause.service}'s log: "${item.template.template}" ${item.after}× since onset${item.before > 0 ? ` (${item.before}× before)` : ''}${item.template.samples[0] === undefined ? '' : `, e.g. ${item.template.samples[0]}`}`,
          z: 0,
          change: item.after - item.before,
          baseline: { median: item.before, scale: 0, samples: 0 },
          peak: { at: new Date(window.endUs / 1000).toISOString(), value: item.after },
          unexplained: 1,
          query: query(item.template),
        }));
      return own.length === 0 ? cause : { ...cause, evidence: [...cause.evidence, ...own] };
    }),
  };
}
