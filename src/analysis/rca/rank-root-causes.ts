// Ranks candidate root causes. A service is a candidate when one of its series changed at onset; its weight is
// how much of that change its own callees do not explain (a caller whose latency rose by as much as a callee's
// is a victim, not a cause), times how much upstream trouble it can explain (the anomalous services that reach
// it through anomalous callers). Without a call graph this is a plain robust-change ranking.
import { judgeSeries, judgeSettings, type JudgeSettings } from './judge-series.js';
import type {
  CallChange,
  Evidence,
  ExcludedCause,
  Localisation,
  PlatformSignal,
  RcaInput,
  RcaReport,
  RootCause,
  RootCauseKind,
  SeriesVerdict,
  TimelineEntry,
} from './model.js';

export interface RankSettings extends JudgeSettings {
  /** Root causes listed at most. */
  readonly maxRootCauses: number;
  readonly maxEvidence: number;
  /** A traffic series counts as a fault when it falls below this fraction of its normal level. */
  readonly stoppedServingFraction: number;
  /** A service whose every change is at least this much explained by its callees is a victim, not a cause. */
  readonly victimShare: number;
  /** Platform signals this long before onset still count (a release takes a while to hurt). */
  readonly signalLookbackUs: number;
  /**
   * A platform signal weighs half as much for every this long it last happened before onset (past the first
   * minute): a change or a crash at onset is the prime suspect; one long before (the rollback that healed the
   * previous incident, a crash loop that has stopped) is likely not it.
   */
  readonly signalHalfLifeUs: number;
  /**
   * Of a service that fails while its incoming traffic surges and a caller of it changed, the share of its
   * weight that moves to that caller: the load it drives is the cause, the service its victim.
   */
  readonly drivenLoadShare: number;
}

export const rankSettings: RankSettings = {
  ...judgeSettings,
  maxRootCauses: 10,
  maxEvidence: 5,
  stoppedServingFraction: 0.1,
  victimShare: 0.8,
  signalLookbackUs: 30 * 60_000_000,
  signalHalfLifeUs: 5 * 60_000_000,
  drivenLoadShare: 0.8,
};

interface Weighed {
  readonly verdict: SeriesVerdict;
  readonly unexplained: number;
  readonly weight: number;
  readonly explainedBy: string | null;
  readonly signal?: PlatformSignal;
  /** Set on a caller's evidence: the surge of traffic it drives into this callee. */
  readonly drives?: string;
}

/** A platform signal in the shape of a series verdict, so that it ranks and reports like one. */
function signalVerdict(signal: PlatformSignal): SeriesVerdict {
  return {
    series: {
      service: signal.service,
      metric: signal.reason,
      kind: 'performance',
      source: signal.source,
      unit: '',
      points: [[signal.atUs, 1]],
    },
    z: 0,
    change: 0,
    baselineMedian: 0,
    baselineScale: 0,
    baselineSamples: 0,
    peakUs: signal.atUs,
    peakValue: 1,
    departures: [],
    firstAnomalousUs: signal.atUs,
    anomalous: true,
  };
}

export function analyzeRootCauses(input: RcaInput, settings: RankSettings = rankSettings): RcaReport {
  const { window } = input;
  const typical = typicalBaselineSamples(input);
  const verdicts: SeriesVerdict[] = [];
  for (const series of input.series) {
    const verdict = judgeSeries(series, window, typical, settings);
    if (verdict !== undefined) verdicts.push(verdict);
  }
  const faults = verdicts.filter((verdict) => isFault(verdict, settings));

  const callees = new Map<string, Set<string>>();
  const callers = new Map<string, Set<string>>();
  for (const [caller, callee] of input.edges) {
    if (caller === callee) continue;
    link(callees, caller, callee);
    link(callers, callee, caller);
  }
  const byKey = new Map<string, SeriesVerdict>();
  for (const verdict of faults) byKey.set(key(verdict.series.service, verdict.series.metric), verdict);

  const weighed = new Map<string, Weighed[]>();
  for (const verdict of faults) {
    const { service, metric } = verdict.series;
    let explained = 0;
    let explainedBy: string | null = null;
    for (const callee of callees.get(service) ?? []) {
      const downstream = byKey.get(key(callee, metric));
      if (downstream === undefined) continue;
      // The callee's change at the moment the caller was worst: what it accounts for of that moment.
      const share = Math.min(1, Math.max(0, changeAt(downstream, verdict.peakUs) / verdict.change));
      if (share > explained) {
        explained = share;
        explainedBy = callee;
      }
    }
    const unexplained = 1 - explained;
    const list = weighed.get(service) ?? [];
    list.push({ verdict, unexplained, weight: unexplained * Math.log1p(Math.abs(verdict.z)), explainedBy });
    weighed.set(service, list);
  }

  const inScope = input.focus === undefined ? undefined : reachable(input.focus, callees);
  // Platform signals weigh like a certain change (or half of one, when only suggestive; less the longer before
  // onset they last happened), never explained away.
  const certain = Math.log1p(settings.zCap);
  for (const signal of input.signals ?? []) {
    if (signal.atUs < window.onsetUs - settings.signalLookbackUs || signal.atUs > window.endUs) continue;
    const verdict = signalVerdict(signal);
    const list = weighed.get(signal.service) ?? [];
    const before = Math.max(0, window.onsetUs - signal.atUs - 60_000_000);
    list.push({
      verdict,
      unexplained: 1,
      weight:
        (signal.strength === 'certain' ? certain : certain / 2) * 0.5 ** (before / settings.signalHalfLifeUs),
      explainedBy: null,
      signal,
    });
    weighed.set(signal.service, list);
  }

  const anomalousServices = new Set(
    [...weighed.keys()].filter((service) => inScope === undefined || inScope.has(service)),
  );
  const candidates: Candidate[] = [];
  const excluded: ExcludedCause[] = [];
  for (const [service, items] of weighed) {
    items.sort((a, b) => b.weight - a.weight);
    if (inScope !== undefined && !inScope.has(service)) {
      excluded.push({
        service,
        reason: `${input.focus ?? ''} does not call it, directly or through other services`,
      });
      continue;
    }
    const own = items[0]?.weight ?? 0;
    const explains = upstream(service, callers, anomalousServices);
    if (items.every((item) => item.unexplained <= 1 - settings.victimShare)) {
      const top = items[0];
      excluded.push({
        service,
        reason:
          top?.explainedBy === null || top === undefined
            ? 'its changes are explained by its callees'
            : `its ${top.verdict.series.metric} changed by ${format(top.verdict.change)} ${top.verdict.series.unit}`.trimEnd() +
              `, ${Math.round((1 - top.unexplained) * 100)}% of it at ${top.explainedBy}, which it calls`,
      });
      continue;
    }
    candidates.push({ service, raw: own * (1 + Math.log1p(explains.length)), items, explains });
  }
  const voted = vote(
    candidates,
    excluded,
    input.localisations ?? [],
    (service) => inScope === undefined || inScope.has(service),
    (service) => ({
      items: (weighed.get(service) ?? []).sort((a, b) => b.weight - a.weight),
      explains: upstream(service, callers, anomalousServices),
    }),
  );
  // After the votes: traces and logs say where a failure shows (the database whose pool is exhausted); the
  // load a changed caller drives into it says why.
  moveDrivenLoad(candidates, verdicts, input, callers, settings);
  candidates.sort((a, b) => b.raw - a.raw || a.service.localeCompare(b.service));
  const total = candidates.reduce((sum, candidate) => sum + candidate.raw, 0);

  const iso = (us: number) => new Date(us / 1000).toISOString();
  const rootCauses: RootCause[] = candidates.slice(0, settings.maxRootCauses).map((candidate) => {
    const evidence = candidate.items
      .slice(0, settings.maxEvidence)
      .map((item) => evidenceOf(item, input, iso));
    return {
      service: candidate.service,
      score: round(candidate.raw / total, 4),
      kind: kindOf(candidate.items[0]?.verdict, voted.get(candidate.service)),
      evidence,
      explains: candidate.explains,
    };
  });

  const timeline: TimelineEntry[] = [
    ...faults
      .filter((verdict) => verdict.firstAnomalousUs !== null)
      .map((verdict) => ({
        us: verdict.firstAnomalousUs ?? verdict.peakUs,
        service: verdict.series.service,
        what: describe(verdict),
      })),
    ...(input.signals ?? []).map((signal) => ({
      us: signal.atUs,
      service: signal.service,
      what: signal.summary,
    })),
  ]
    .filter((entry) => entry.us >= window.onsetUs - settings.signalLookbackUs && entry.us <= window.endUs)
    .sort((a, b) => a.us - b.us)
    .slice(0, 50)
    .map((entry) => ({ at: iso(entry.us), service: entry.service, what: entry.what }));

  const services = new Set(input.series.map((series) => series.service));
  return {
    window: {
      onset: iso(window.onsetUs),
      end: iso(window.endUs),
      baselineStart: iso(window.baselineStartUs),
      baselineEnd: iso(window.baselineEndUs),
    },
    rootCauses,
    excluded,
    timeline,
    noRootCause:
      rootCauses.length > 0
        ? null
        : faults.length === 0
          ? `nothing changed at onset beyond normal variation: ${verdicts.length} series of ${services.size} services judged (|z| ≥ ${settings.zThreshold} needed), ${input.series.length - verdicts.length} too sparse to judge`
          : 'every change at onset is explained by a callee that did not change itself',
    analyzed: {
      services: services.size,
      series: input.series.length,
      anomalousSeries: faults.length,
      edges: input.edges.length,
    },
  };
}

interface Candidate {
  readonly service: string;
  raw: number;
  readonly items: Weighed[];
  explains: string[];
}

/**
 * Votes of independent evidence (PDiagnose's idea): the series ranking is one voter, each localisation of the
 * traces and logs another, and a service's weight is its mean share across the voters that have anything to
 * say. A localisation names the origin directly (where the added latency is spent, where failures begin, who
 * logs the new errors), so it may bring back a service the series ranking took for a victim, or one it never
 * saw; never one outside the alerted service's reach. Returns, per service, the strongest localisation that
 * voted for it.
 */
function vote(
  candidates: Candidate[],
  excluded: ExcludedCause[],
  localisations: readonly Localisation[],
  inScope: (service: string) => boolean,
  about: (service: string) => { items: Weighed[]; explains: string[] },
): Map<string, Localisation['source']> {
  const ballots = localisations
    .map((localisation) => ({
      source: localisation.source,
      weights: localisation.services.filter(
        (item) => item.weight > 0 && Number.isFinite(item.weight) && inScope(item.service),
      ),
    }))
    .map((ballot) => ({ ...ballot, total: ballot.weights.reduce((sum, item) => sum + item.weight, 0) }))
    .filter((ballot) => ballot.total > 0);
  if (ballots.length === 0) return new Map();
  const strongest = new Map<string, { source: Localisation['source']; share: number }>();
  const seriesTotal = candidates.reduce((sum, candidate) => sum + candidate.raw, 0);
  const voters = ballots.length + (seriesTotal > 0 ? 1 : 0);
  const shares = new Map<string, number>();
  for (const candidate of candidates) {
    shares.set(candidate.service, seriesTotal > 0 ? candidate.raw / seriesTotal : 0);
  }
  for (const ballot of ballots) {
    for (const { service, weight } of ballot.weights) {
      const share = weight / ballot.total;
      shares.set(service, (shares.get(service) ?? 0) + share);
      const known = strongest.get(service);
      if (known === undefined || share > known.share)
        strongest.set(service, { source: ballot.source, share });
    }
  }
  for (const [service, share] of shares) {
    let candidate = candidates.find((item) => item.service === service);
    if (candidate === undefined) {
      const { items, explains } = about(service);
      candidate = { service, raw: 0, items, explains };
      candidates.push(candidate);
      const at = excluded.findIndex((item) => item.service === service);
      if (at >= 0) excluded.splice(at, 1);
    }
    candidate.raw = share / voters;
  }
  return new Map([...strongest].map(([service, { source }]) => [service, source]));
}

/**
 * A service failing under a surge of incoming traffic while a caller of it changed (a release, a configuration
 * change) is the victim of the load that caller now drives: most of its weight moves to the caller, with the
 * surge as the caller's evidence.
 */
function moveDrivenLoad(
  candidates: Candidate[],
  verdicts: readonly SeriesVerdict[],
  input: RcaInput,
  callers: Map<string, Set<string>>,
  settings: RankSettings,
): void {
  const { window } = input;
  // Changes that could have started the surge: landed shortly before onset (within a half-life) or after it.
  const changed = new Set(
    (input.signals ?? [])
      .filter(
        (signal) =>
          signal.source === 'change' &&
          signal.atUs >= window.onsetUs - 60_000_000 - settings.signalHalfLifeUs &&
          signal.atUs <= window.endUs,
      )
      .map((signal) => signal.service),
  );
  const surges = new Map<string, SeriesVerdict>();
  for (const verdict of verdicts) {
    if (verdict.series.kind !== 'traffic' || !verdict.anomalous || verdict.change <= 0) continue;
    const known = surges.get(verdict.series.service);
    if (known === undefined || verdict.z > known.z) surges.set(verdict.series.service, verdict);
  }
  // Calls per request that multiplied (from traces): the caller's behaviour changed, whether or not a change
  // was recorded, and its traces show it as soon as it happens (before a rate metric has a whole bucket of it).
  const multiplied = new Map<string, Map<string, SeriesVerdict>>();
  for (const change of input.callChanges ?? []) {
    const byCaller = multiplied.get(change.callee) ?? new Map<string, SeriesVerdict>();
    multiplied.set(change.callee, byCaller);
    byCaller.set(change.caller, callChangeVerdict(change, window));
  }
  for (const victim of [...candidates]) {
    const surge = surges.get(victim.service);
    const byCaller = multiplied.get(victim.service);
    if (surge === undefined && byCaller === undefined) continue;
    for (const caller of byCaller?.keys() ?? []) {
      if (caller !== victim.service && !candidates.some((candidate) => candidate.service === caller)) {
        candidates.push({ service: caller, raw: 0, items: [], explains: [] });
      }
    }
    const drivers = candidates.filter(
      (candidate) =>
        candidate !== victim &&
        (byCaller?.has(candidate.service) === true ||
          (surge !== undefined &&
            changed.has(candidate.service) &&
            (callers.get(victim.service)?.has(candidate.service) ?? false))),
    );
    if (drivers.length === 0) continue;
    const moved = victim.raw * settings.drivenLoadShare;
    victim.raw -= moved;
    for (const driver of drivers) {
      driver.raw += moved / drivers.length;
      driver.explains = [...new Set([...driver.explains, victim.service, ...victim.explains])]
        .filter((service) => service !== driver.service)
        .sort();
      const evidence = byCaller?.get(driver.service) ?? surge;
      if (evidence === undefined) continue;
      driver.items.push({
        verdict: evidence,
        unexplained: 1,
        weight: moved / drivers.length,
        explainedBy: null,
        drives: victim.service,
      });
      driver.items.sort((a, b) => b.weight - a.weight);
    }
  }
}

/** A changed call pattern in the shape of a verdict on the callee's series, so that it reports like a surge. */
function callChangeVerdict(change: CallChange, window: RcaInput['window']): SeriesVerdict {
  return {
    series: {
      service: change.callee,
      metric: `trace.calls_per_request{caller=${change.caller}}`,
      kind: 'traffic',
      source: 'trace',
      unit: '',
      points: [[window.onsetUs, change.after]],
      exampleTraceId: change.exampleTraceId,
    },
    z: 0,
    change: change.after - change.before,
    baselineMedian: change.before,
    baselineScale: 0,
    baselineSamples: 0,
    peakUs: window.onsetUs,
    peakValue: change.after,
    departures: [],
    firstAnomalousUs: window.onsetUs,
    anomalous: true,
  };
}

/** Performance changes, and traffic that stopped: a service that no longer serves. */
function isFault(verdict: SeriesVerdict, settings: RankSettings): boolean {
  if (!verdict.anomalous) return false;
  if (verdict.series.kind === 'performance') return true;
  return (
    verdict.change < 0 &&
    verdict.peakValue <= settings.stoppedServingFraction * Math.abs(verdict.baselineMedian)
  );
}

function typicalBaselineSamples(input: RcaInput): number {
  const counts = input.series
    .map(
      (series) =>
        series.points.filter(
          ([time]) =>
            time >= input.window.baselineStartUs &&
            time <= input.window.baselineEndUs &&
            !(time >= input.window.onsetUs && time <= input.window.endUs),
        ).length,
    )
    .sort((a, b) => a - b);
  return counts[Math.floor(counts.length / 2)] ?? 0;
}

/** `service` and every service it calls, directly or through others. */
function reachable(service: string, callees: Map<string, Set<string>>): Set<string> {
  const seen = new Set([service]);
  const stack = [service];
  while (stack.length > 0) {
    for (const callee of callees.get(stack.pop() ?? '') ?? []) {
      if (seen.has(callee)) continue;
      seen.add(callee);
      stack.push(callee);
    }
  }
  return seen;
}

/** Anomalous services that reach `service` through anomalous callers. */
function upstream(service: string, callers: Map<string, Set<string>>, anomalous: Set<string>): string[] {
  const seen = new Set<string>();
  const stack = [service];
  while (stack.length > 0) {
    const current = stack.pop() ?? '';
    for (const caller of callers.get(current) ?? []) {
      if (!anomalous.has(caller) || seen.has(caller) || caller === service) continue;
      seen.add(caller);
      stack.push(caller);
    }
  }
  return [...seen].sort();
}

function evidenceOf(item: Weighed, input: RcaInput, iso: (us: number) => string): Evidence {
  const { verdict, signal } = item;
  if (signal !== undefined) {
    return {
      source: signal.source,
      metric: signal.reason,
      unit: '',
      summary: signal.summary,
      z: 0,
      change: 0,
      baseline: { median: 0, scale: 0, samples: 0 },
      peak: { at: iso(signal.atUs), value: 1 },
      unexplained: 1,
      query: signal.query,
    };
  }
  const { series } = verdict;
  return {
    source: series.source,
    metric: series.metric,
    unit: series.unit,
    summary:
      (item.drives === undefined
        ? describe(verdict)
        : `${item.drives}: ${describe(verdict)}, the load this service sends it since its change`) +
      (item.explainedBy === null || item.unexplained >= 1
        ? ''
        : `; ${Math.round((1 - item.unexplained) * 100)}% of it also at ${item.explainedBy}, which it calls`),
    z: round(verdict.z, 2),
    change: round(verdict.change, 6),
    baseline: {
      median: round(verdict.baselineMedian, 6),
      scale: round(verdict.baselineScale, 6),
      samples: verdict.baselineSamples,
    },
    peak: { at: iso(verdict.peakUs), value: round(verdict.peakValue, 6) },
    unexplained: round(item.unexplained, 3),
    query:
      series.exampleTraceId === undefined
        ? `${series.source} ${series.metric} service="${series.service}" from ${iso(input.window.baselineStartUs)} to ${iso(input.window.endUs)}`
        : `trace ${series.exampleTraceId}`,
  };
}

function describe(verdict: SeriesVerdict): string {
  const { series } = verdict;
  const unit = series.unit === '' ? '' : ` ${series.unit}`;
  const direction = verdict.change >= 0 ? 'rose' : 'fell';
  const z = verdict.z === 0 && verdict.baselineScale === 0 ? '' : ` (z ${format(verdict.z)})`;
  return `${series.metric} ${direction} from ${format(verdict.baselineMedian)}${unit} to ${format(verdict.peakValue)}${unit}${z}`;
}

const kindPatterns: readonly [RegExp, RootCauseKind][] = [
  [/error|fail|fault|exception|availability|5xx|status/i, 'errors'],
  [/latency|duration|time|delay|elapsed/i, 'latency'],
  [/cpu|memory|mem\b|heap|disk|io\b|gc|thread|pool|connection|saturation|queue|oom|restart/i, 'saturation'],
];

const signalKinds: Readonly<Record<string, RootCauseKind>> = {
  OOMKilled: 'saturation',
  BackOff: 'crash',
  CrashLoopBackOff: 'crash',
  Unhealthy: 'crash',
  ScaledToZero: 'scaled-to-zero',
  Release: 'change',
  ConfigChange: 'change',
};

function kindOf(verdict: SeriesVerdict | undefined, voted?: Localisation['source']): RootCauseKind {
  if (verdict === undefined) {
    return voted === undefined ? 'anomaly' : voted === 'trace-latency' ? 'latency' : 'errors';
  }
  if (verdict.series.source === 'event' || verdict.series.source === 'change') {
    return signalKinds[verdict.series.metric] ?? (verdict.series.source === 'change' ? 'change' : 'crash');
  }
  if (verdict.series.kind === 'traffic') return 'traffic';
  if (verdict.series.source === 'log') return 'errors';
  for (const [pattern, kind] of kindPatterns) if (pattern.test(verdict.series.metric)) return kind;
  return 'anomaly';
}

/** A verdict's departure at the incident point nearest to `timeUs`. */
function changeAt(verdict: SeriesVerdict, timeUs: number): number {
  let best: readonly [number, number] | undefined;
  for (const point of verdict.departures) {
    if (best === undefined || Math.abs(point[0] - timeUs) < Math.abs(best[0] - timeUs)) best = point;
  }
  return best?.[1] ?? 0;
}

function link(map: Map<string, Set<string>>, from: string, to: string): void {
  const set = map.get(from) ?? new Set<string>();
  set.add(to);
  map.set(from, set);
}

function key(service: string, metric: string): string {
  return `${service}\u0000${metric}`;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : Number(value.toPrecision(4)).toString();
}
