// Where, in the traces, an incident's errors originate and its latency is added. Pure.
//
// Errors: in each failing trace, an error span none of whose children failed is where the failure began (its
// parents only passed it on). A CLIENT span of that kind failed in the call itself (refused, timed out, an
// uninstrumented callee answered 5xx): the origin is the called service.
//
// Latency: a trace's duration is spent along its critical path; each span on it accounts for its own part of the
// path. A call's part outside its callee's span (the wire) is charged to the end whose other calls slowed too
// (chargeOf). Summing per service and comparing the mean per trace after onset with the mean before, within
// strata of like requests, tells which services the added end-to-end latency went to.
//
// Also: services that failing callers called in common (a wrong answer fails the caller), and calls per request
// that multiplied at onset (a caller's changed behaviour).
import { criticalPath } from '../traces/critical-path.js';
import type { CallChange, Evidence, Localisation, RcaReport } from './model.js';

export interface OriginSpan {
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly service: string;
  readonly name: string;
  readonly kind: string;
  readonly startUs: number;
  readonly endUs: number;
  readonly error: boolean;
  readonly statusMessage: string | null;
  /** The called service of a CLIENT span, when known. */
  readonly peer: string | null;
}

export interface SampledTrace {
  readonly traceId: string;
  readonly spans: readonly OriginSpan[];
}

export interface ErrorOrigin {
  readonly service: string;
  /** The failing operation; for a failed call, `caller → callee operation`. */
  readonly operation: string;
  /** Failing traces after onset in which a failure began here, of all failing traces sampled after onset. */
  readonly traces: number;
  readonly of: number;
  /** The same, before onset (failures that were already usual). */
  readonly tracesBefore: number;
  readonly ofBefore: number;
  readonly message: string | null;
  readonly exampleTraceId: string;
}

export interface LatencyOrigin {
  readonly service: string;
  /** Mean critical-path self time per trace, before and after onset (ms). */
  readonly baselineMs: number;
  readonly incidentMs: number;
  readonly addedMs: number;
  /** Of the latency added to the mean trace, the part that went to this service (0..1). */
  readonly share: number;
  /** The operation of this service with the most added self time. */
  readonly operation: string;
  readonly traces: number;
  readonly tracesBefore: number;
  /** The sampled trace after onset where this service's critical-path self time was greatest. */
  readonly exampleTraceId: string;
}

/** A service's added critical-path time per trace, with the lower bound of its confidence interval. */
export interface LatencyAttribution {
  readonly service: string;
  readonly addedMs: number;
  readonly lowerBoundMs: number;
}

/**
 * A service that failing callers have in common: failures began in several services (and not in it) right after
 * they called it. A wrong answer (a malformed response, a wrong value) fails its callers, not itself.
 */
export interface SharedCallee {
  readonly service: string;
  /** The error-origin services that called it in failing traces since onset. */
  readonly callers: readonly string[];
  /** Failing traces since onset in which one of them called it. */
  readonly traces: number;
  readonly exampleTraceId: string;
}

export interface TraceOrigins {
  readonly errors: readonly ErrorOrigin[];
  /** Services that the error origins called in common (errors that appear at the callers of the faulty one). */
  readonly sharedCallees?: readonly SharedCallee[];
  readonly latency: readonly LatencyOrigin[];
  /** Every service whose added latency is positive at the lower bound: what the ranking credits. */
  readonly attribution: readonly LatencyAttribution[];
  /** Calls per request that multiplied at onset. */
  readonly callChanges?: readonly CallChange[];
  readonly sampled: {
    readonly failingTraces: number;
    readonly failingTracesBefore: number;
    readonly traces: number;
    readonly tracesBefore: number;
  };
}

export interface TraceOriginSettings {
  /** An error origin is listed when it explains at least this share of the failing traces after onset… */
  readonly minErrorShare: number;
  /** …and failures began there at least this many times as often (per second) as before onset. */
  readonly errorSurgeFactor: number;
  /** Traces needed on each side before latency is compared. */
  readonly minTraces: number;
  /** A service's added latency must exceed this many standard errors of the difference of means… */
  readonly minStandardErrors: number;
  /** …and this share of the added latency of the mean trace. */
  readonly minLatencyShare: number;
  /**
   * A time rose when its increase exceeds this many standard errors of the difference of means (≈ 97.5 %
   * one-sided): what decides who a call's wire time is charged to, and the lower bound each service's added
   * latency is credited with in the ranking.
   */
  readonly roseStandardErrors: number;
  /** Calls per request that grew at least this many times are a changed call pattern. */
  readonly callSurgeFactor: number;
}

export const traceOriginSettings: TraceOriginSettings = {
  minErrorShare: 0.2,
  errorSurgeFactor: 5,
  minTraces: 5,
  minStandardErrors: 3,
  minLatencyShare: 0.2,
  roseStandardErrors: 2,
  callSurgeFactor: 3,
};

/** Traces sampled from a window: the newest ones, all of them unless `truncated`. */
export interface TraceSide {
  readonly traces: readonly SampledTrace[];
  readonly fromUs: number;
  readonly toUs: number;
  readonly truncated: boolean;
}

/**
 * `failing`/`failingBefore`: failing traces sampled after and before onset; `all`/`allBefore`: traces sampled
 * regardless of status (for latency).
 */
export interface TraceSample {
  readonly failing: TraceSide;
  readonly failingBefore: TraceSide;
  readonly all: TraceSide;
  readonly allBefore: TraceSide;
}

export function findTraceOrigins(
  sample: TraceSample,
  settings: TraceOriginSettings = traceOriginSettings,
): TraceOrigins {
  const errors = errorOrigins(sample.failing, sample.failingBefore, settings);
  return {
    errors,
    sharedCallees: sharedCallees(sample.failing.traces, errors),
    ...latencyFindings(latencyOrigins(sample.all.traces, sample.allBefore.traces, settings)),
    callChanges: callChanges(sample.all.traces, sample.allBefore.traces, settings),
    sampled: {
      failingTraces: sample.failing.traces.length,
      failingTracesBefore: sample.failingBefore.traces.length,
      traces: sample.all.traces.length,
      tracesBefore: sample.allBefore.traces.length,
    },
  };
}

function latencyFindings(findings: LatencyFindings): Pick<TraceOrigins, 'latency' | 'attribution'> {
  return { latency: findings.origins, attribution: findings.attribution };
}

/**
 * The traces' two votes in the ranking: where the added latency is spent (each service credited with the lower
 * bound of its added critical-path time per trace, so that noise earns nothing) and where failures begin (the
 * failing traces each error origin explains).
 */
export function traceLocalisations(origins: TraceOrigins): Localisation[] {
  return [
    {
      source: 'trace-latency',
      services: origins.attribution.map((item) => ({ service: item.service, weight: item.lowerBoundMs })),
    },
    {
      source: 'trace-errors',
      services: [
        ...origins.errors.map((origin) => ({ service: origin.service, weight: origin.traces })),
        ...(origins.sharedCallees ?? []).map((callee) => ({
          service: callee.service,
          weight: callee.traces,
        })),
      ],
    },
  ];
}

/**
 * Calls per request that multiplied at onset: per caller → callee, the mean number of calls in the traces that
 * pass through the caller, compared within strata of like requests. A change counts when calls per request grew
 * `callSurgeFactor` times or more and significantly (past `roseStandardErrors`), by at least one call.
 */
function callChanges(
  all: readonly SampledTrace[],
  allBefore: readonly SampledTrace[],
  settings: TraceOriginSettings,
): CallChange[] {
  if (all.length < settings.minTraces || allBefore.length < settings.minTraces) return [];
  const countsOf = (trace: SampledTrace) => {
    const counts = new Map<string, number>();
    for (const [caller, callee] of callsOf(trace)) add(counts, `${caller}\u0000${callee}`, 1);
    return counts;
  };
  const after = all.map(countsOf);
  const before = allBefore.map(countsOf);
  const changes = differences(after, before, all.map(signatureOf), allBefore.map(signatureOf));
  const out: CallChange[] = [];
  for (const [edge, { mean, meanBefore, delta, standardError }] of changes) {
    if (meanBefore <= 0 || mean < settings.callSurgeFactor * meanBefore || delta < 1) continue;
    if (delta <= settings.roseStandardErrors * standardError) continue;
    const [caller = '', callee = ''] = edge.split('\u0000');
    let example = '';
    let most = 0;
    after.forEach((counts, index) => {
      const count = counts.get(edge) ?? 0;
      if (count > most) {
        most = count;
        example = all[index]?.traceId ?? '';
      }
    });
    out.push({ caller, callee, before: round(meanBefore), after: round(mean), exampleTraceId: example });
  }
  return out.sort((a, b) => b.after / b.before - a.after / a.before);
}

/** A span of a whole set of traces (an offline input), with its trace id. */
export interface LooseSpan extends OriginSpan {
  readonly traceId: string;
}

/**
 * Groups spans into traces and samples them like the live agent (which reads 50 per side from the store): per
 * side (after onset, before it), the newest `perSide` traces by start, and the newest `perSide` failing ones.
 */
export function sampleTraces(
  spans: readonly LooseSpan[],
  window: { onsetUs: number; endUs: number; baselineStartUs: number; baselineEndUs: number },
  perSide = 200,
): TraceSample {
  const byTrace = new Map<string, LooseSpan[]>();
  for (const span of spans) {
    const list = byTrace.get(span.traceId);
    if (list === undefined) byTrace.set(span.traceId, [span]);
    else list.push(span);
  }
  const traces = [...byTrace].map(([traceId, members]) => ({
    traceId,
    spans: members,
    startUs: members.reduce((earliest, span) => Math.min(earliest, span.startUs), Infinity),
    failing: members.some((span) => span.error),
  }));
  const side = (fromUs: number, toUs: number, failingOnly: boolean): TraceSide => {
    const inside = traces
      .filter((trace) => trace.startUs >= fromUs && trace.startUs <= toUs && (!failingOnly || trace.failing))
      .sort((a, b) => b.startUs - a.startUs);
    return {
      traces: inside.slice(0, perSide).map(({ traceId, spans: members }) => ({ traceId, spans: members })),
      fromUs,
      toUs,
      truncated: inside.length > perSide,
    };
  };
  return {
    failing: side(window.onsetUs, window.endUs, true),
    failingBefore: side(window.baselineStartUs, window.baselineEndUs, true),
    all: side(window.onsetUs, window.endUs, false),
    allBefore: side(window.baselineStartUs, window.baselineEndUs, false),
  };
}

/** Seconds a side's traces cover: the whole window, or since its oldest trace when the sample is truncated. */
function coveredSeconds(side: TraceSide): number {
  let fromUs = side.fromUs;
  if (side.truncated) {
    let oldest = side.toUs;
    for (const trace of side.traces) for (const span of trace.spans) oldest = Math.min(oldest, span.startUs);
    fromUs = Math.max(fromUs, oldest);
  }
  return Math.max(1, (side.toUs - fromUs) / 1e6);
}

interface OriginKey {
  readonly service: string;
  readonly operation: string;
  readonly message: string | null;
}

/** Where failures began in one trace, once per (service, operation). */
function originsOf(trace: SampledTrace): Map<string, OriginKey> {
  const children = childMap(trace.spans);
  const origins = new Map<string, OriginKey>();
  for (const span of trace.spans) {
    if (!span.error) continue;
    const kids = children.get(span.spanId) ?? [];
    if (kids.some((child) => child.error)) continue;
    const callee = span.kind === 'CLIENT' ? (kids[0]?.service ?? calleeOf(span.peer)) : null;
    const origin: OriginKey =
      callee === null || callee === span.service
        ? { service: span.service, operation: span.name, message: span.statusMessage }
        : {
            service: callee,
            operation: `${span.service} → ${callee} ${span.name}`,
            message: span.statusMessage,
          };
    origins.set(`${origin.service}\u0000${origin.operation}`, origin);
  }
  return origins;
}

function sharedCallees(failing: readonly SampledTrace[], errors: readonly ErrorOrigin[]): SharedCallee[] {
  const originServices = new Set(errors.map((origin) => origin.service));
  if (originServices.size < 2) return [];
  const found = new Map<string, { callers: Set<string>; traces: number; example: string }>();
  for (const trace of failing) {
    const began = new Set([...originsOf(trace).values()].map((origin) => origin.service));
    const called = new Map<string, Set<string>>();
    // A callee's span under a caller's span, or a leaf client span naming its peer.
    const leafCalls = trace.spans
      .filter((span) => span.kind === 'CLIENT' && calleeOf(span.peer) !== null)
      .map((span) => [span.service, calleeOf(span.peer) ?? ''] as const);
    for (const [caller, callee] of [...callsOf(trace), ...leafCalls]) {
      if (!began.has(caller) || !originServices.has(caller)) continue;
      const callers = called.get(callee) ?? new Set<string>();
      callers.add(caller);
      called.set(callee, callers);
    }
    for (const [callee, callers] of called) {
      if (originServices.has(callee) || callers.has(callee)) continue;
      const known = found.get(callee) ?? { callers: new Set<string>(), traces: 0, example: trace.traceId };
      for (const caller of callers) known.callers.add(caller);
      known.traces += 1;
      found.set(callee, known);
    }
  }
  return [...found]
    .filter(([, item]) => item.callers.size >= 2)
    .map(([service, item]) => ({
      service,
      callers: [...item.callers].sort(),
      traces: item.traces,
      exampleTraceId: item.example,
    }))
    .sort((a, b) => b.traces - a.traces || a.service.localeCompare(b.service));
}

function errorOrigins(
  failing: TraceSide,
  failingBefore: TraceSide,
  settings: TraceOriginSettings,
): ErrorOrigin[] {
  if (failing.traces.length === 0) return [];
  const count = (traces: readonly SampledTrace[]) => {
    const counts = new Map<string, { origin: OriginKey; traces: number; example: string }>();
    for (const trace of traces) {
      for (const [key, origin] of originsOf(trace)) {
        const known = counts.get(key);
        if (known === undefined) counts.set(key, { origin, traces: 1, example: trace.traceId });
        else known.traces += 1;
      }
    }
    return counts;
  };
  const after = count(failing.traces);
  const before = count(failingBefore.traces);
  const seconds = coveredSeconds(failing);
  const secondsBefore = coveredSeconds(failingBefore);
  const out: ErrorOrigin[] = [];
  for (const [key, { origin, traces, example }] of after) {
    const tracesBefore = before.get(key)?.traces ?? 0;
    if (traces / failing.traces.length < settings.minErrorShare) continue;
    if (traces / seconds < settings.errorSurgeFactor * (tracesBefore / secondsBefore)) continue;
    out.push({
      service: origin.service,
      operation: origin.operation,
      traces,
      of: failing.traces.length,
      tracesBefore,
      ofBefore: failingBefore.traces.length,
      message: origin.message,
      exampleTraceId: example,
    });
  }
  return out.sort((a, b) => b.traces - a.traces || a.service.localeCompare(b.service));
}

interface Contribution {
  /** Critical-path time per service (µs), calls' wire time charged to the service `chargeOf` names. */
  readonly byService: Map<string, number>;
  /** …and per service and operation. */
  readonly byOperation: Map<string, number>;
}

/** One trace's critical-path time, apart: each service's own time, and each call's wire time per edge. */
interface PathTimes {
  readonly own: Map<string, number>;
  readonly ownByOperation: Map<string, number>;
  /** `caller\0callee` → µs */
  readonly wire: Map<string, number>;
  readonly wireByOperation: Map<string, number>;
}

function pathTimesOf(trace: SampledTrace): PathTimes {
  const spans = trace.spans.map((span) => ({ ...span, parentSpanId: span.parentSpanId ?? '' }));
  const { path, pathTimeUs } = criticalPath(spans);
  const byId = new Map(trace.spans.map((span) => [span.spanId, span]));
  const children = childMap(trace.spans);
  const times: PathTimes = {
    own: new Map(),
    ownByOperation: new Map(),
    wire: new Map(),
    wireByOperation: new Map(),
  };
  for (const id of path) {
    const span = byId.get(id);
    if (span === undefined) continue;
    const time = pathTimeUs.get(id) ?? 0;
    const callee = calleeCharged(span, children.get(span.spanId) ?? []);
    if (callee === null) {
      add(times.own, span.service, time);
      add(times.ownByOperation, `${span.service}\u0000${span.name}`, time);
    } else {
      const edge = `${span.service}\u0000${callee}`;
      add(times.wire, edge, time);
      add(times.wireByOperation, `${edge}\u0000${span.name}`, time);
    }
  }
  return times;
}

/**
 * Who a call's added wire time belongs to. A slow network or a starved process at one end slows every call
 * through that end, in and out: a delayed link at the callee slows its callers' calls into it and its own calls
 * out; a starved cpu at the caller slows all of its calls. So the end whose other calls slowed too, as a larger
 * share of them, is charged; the callee when neither (or both alike), since the wire is the callee's way in.
 */
function chargeOf(
  edges: ReadonlyMap<string, Difference>,
  settings: TraceOriginSettings,
): Map<string, string> {
  const rose = (difference: Difference) =>
    difference.delta > settings.roseStandardErrors * difference.standardError;
  const touching = new Map<string, number>();
  const roseTouching = new Map<string, number>();
  for (const [edge, difference] of edges) {
    for (const end of new Set(edge.split('\u0000'))) {
      add(touching, end, 1);
      if (rose(difference)) add(roseTouching, end, 1);
    }
  }
  /** Of the other calls through `end`, the share that slowed. */
  const others = (end: string, itself: boolean) => {
    const total = (touching.get(end) ?? 0) - 1;
    return total <= 0 ? 0 : ((roseTouching.get(end) ?? 0) - (itself ? 1 : 0)) / total;
  };
  const out = new Map<string, string>();
  for (const [edge, difference] of edges) {
    const [caller = '', callee = ''] = edge.split('\u0000');
    const itself = rose(difference);
    out.set(edge, itself && others(caller, itself) > others(callee, itself) ? caller : callee);
  }
  return out;
}

interface Difference {
  readonly mean: number;
  readonly meanBefore: number;
  readonly delta: number;
  readonly standardError: number;
}

/**
 * How each key's time per trace changed, within strata of like requests (`signatureOf`): the difference of
 * means per stratum, weighted by the stratum's share of the traces after onset. Comparing like with like keeps a
 * change in the mix of requests (more searches, fewer orders) from reading as latency added or removed, and the
 * spread within a stratum is far smaller than across all requests. Strata with fewer than two traces on a side
 * are pooled into one.
 */
function differences(
  after: readonly Map<string, number>[],
  before: readonly Map<string, number>[],
  strataAfter: readonly string[],
  strataBefore: readonly string[],
): Map<string, Difference> {
  const count = (strata: readonly string[]) => {
    const counts = new Map<string, number>();
    for (const stratum of strata) add(counts, stratum, 1);
    return counts;
  };
  const countsAfter = count(strataAfter);
  const countsBefore = count(strataBefore);
  const pooled = (stratum: string) =>
    (countsAfter.get(stratum) ?? 0) >= 2 && (countsBefore.get(stratum) ?? 0) >= 2 ? stratum : '\u0000pooled';
  const groups = new Map<string, { after: Map<string, number>[]; before: Map<string, number>[] }>();
  const group = (stratum: string) => {
    const known = groups.get(stratum) ?? { after: [], before: [] };
    groups.set(stratum, known);
    return known;
  };
  after.forEach((map, index) => group(pooled(strataAfter[index] ?? '')).after.push(map));
  before.forEach((map, index) => group(pooled(strataBefore[index] ?? '')).before.push(map));
  const keys = new Set([...after, ...before].flatMap((map) => [...map.keys()]));
  const out = new Map<string, Difference>();
  for (const key of keys) {
    let mean = 0;
    let meanBefore = 0;
    let varianceSum = 0;
    let weights = 0;
    for (const members of groups.values()) {
      if (members.after.length === 0 || members.before.length === 0) continue;
      const weight = members.after.length / after.length;
      const a = members.after.map((map) => map.get(key) ?? 0);
      const b = members.before.map((map) => map.get(key) ?? 0);
      const ma = average(a);
      const mb = average(b);
      mean += weight * ma;
      meanBefore += weight * mb;
      varianceSum += weight ** 2 * (variance(a, ma) / a.length + variance(b, mb) / b.length);
      weights += weight;
    }
    if (weights === 0) continue;
    mean /= weights;
    meanBefore /= weights;
    out.set(key, {
      mean,
      meanBefore,
      delta: mean - meanBefore,
      standardError: Math.sqrt(varianceSum) / weights,
    });
  }
  return out;
}

/**
 * What kind of request a trace is: its root operation and the first operation it calls in another service (an
 * API gateway's root is the same for every request; what it routes to is not).
 */
function signatureOf(trace: SampledTrace): string {
  const ids = new Map(trace.spans.map((span) => [span.spanId, span]));
  const roots = trace.spans.filter((span) => span.parentSpanId === null || !ids.has(span.parentSpanId));
  const root = roots.sort((a, b) => a.startUs - b.startUs)[0];
  if (root === undefined) return '';
  let first: OriginSpan | undefined;
  for (const span of trace.spans) {
    if (span.service === root.service || span.parentSpanId === null) continue;
    if (ids.get(span.parentSpanId)?.service !== root.service) continue;
    if (first === undefined || span.startUs < first.startUs) first = span;
  }
  return `${root.service} ${root.name}${first === undefined ? '' : ` → ${first.service} ${first.name}`}`;
}

function charged(times: PathTimes, charge: ReadonlyMap<string, string>): Contribution {
  const byService = new Map(times.own);
  const byOperation = new Map(times.ownByOperation);
  for (const [edge, time] of times.wire) {
    const [caller = ''] = edge.split('\u0000');
    add(byService, charge.get(edge) ?? caller, time);
  }
  for (const [key, time] of times.wireByOperation) {
    const [caller = '', callee = '', name = ''] = key.split('\u0000');
    const service = charge.get(`${caller}\u0000${callee}`) ?? callee;
    add(byOperation, `${service}\u0000${caller} → ${callee} ${name}`, time);
  }
  return { byService, byOperation };
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

interface LatencyFindings {
  readonly origins: LatencyOrigin[];
  readonly attribution: LatencyAttribution[];
}

function latencyOrigins(
  all: readonly SampledTrace[],
  allBefore: readonly SampledTrace[],
  settings: TraceOriginSettings,
): LatencyFindings {
  if (all.length < settings.minTraces || allBefore.length < settings.minTraces) {
    return { origins: [], attribution: [] };
  }
  const timesAfter = all.map(pathTimesOf);
  const timesBefore = allBefore.map(pathTimesOf);
  const strataAfter = all.map(signatureOf);
  const strataBefore = allBefore.map(signatureOf);
  const charge = chargeOf(
    differences(
      timesAfter.map((times) => times.wire),
      timesBefore.map((times) => times.wire),
      strataAfter,
      strataBefore,
    ),
    settings,
  );
  const after = timesAfter.map((times) => charged(times, charge));
  const before = timesBefore.map((times) => charged(times, charge));
  const added = differences(
    after.map((contribution) => contribution.byService),
    before.map((contribution) => contribution.byService),
    strataAfter,
    strataBefore,
  );
  const totalAdded = [...added.values()].reduce((sum, item) => sum + Math.max(0, item.delta), 0);
  if (totalAdded <= 0) return { origins: [], attribution: [] };
  const attribution: LatencyAttribution[] = [];
  const origins: LatencyOrigin[] = [];
  for (const [service, { mean, meanBefore, delta, standardError }] of added) {
    const lower = delta - settings.roseStandardErrors * standardError;
    if (lower > 0) {
      attribution.push({ service, addedMs: round(delta / 1000), lowerBoundMs: round(lower / 1000) });
    }
    const share = delta / totalAdded;
    if (delta <= settings.minStandardErrors * standardError || share < settings.minLatencyShare) continue;
    origins.push({
      service,
      baselineMs: round(meanBefore / 1000),
      incidentMs: round(mean / 1000),
      addedMs: round(delta / 1000),
      share: round(share),
      operation: topOperation(service, after, before),
      traces: after.filter((contribution) => contribution.byService.has(service)).length,
      tracesBefore: before.filter((contribution) => contribution.byService.has(service)).length,
      exampleTraceId: exampleOf(service, all, after),
    });
  }
  return {
    origins: origins.sort((a, b) => b.addedMs - a.addedMs || a.service.localeCompare(b.service)),
    attribution: attribution.sort(
      (a, b) => b.lowerBoundMs - a.lowerBoundMs || a.service.localeCompare(b.service),
    ),
  };
}

function topOperation(
  service: string,
  after: readonly Contribution[],
  before: readonly Contribution[],
): string {
  const prefix = `${service}\u0000`;
  const mean = (contributions: readonly Contribution[], key: string) =>
    average(contributions.map((contribution) => contribution.byOperation.get(key) ?? 0));
  const keys = new Set(
    [...after, ...before].flatMap((contribution) =>
      [...contribution.byOperation.keys()].filter((key) => key.startsWith(prefix)),
    ),
  );
  let best = '';
  let bestAdded = -Infinity;
  for (const key of [...keys].sort()) {
    const delta = mean(after, key) - mean(before, key);
    if (delta > bestAdded) {
      bestAdded = delta;
      best = key.slice(prefix.length);
    }
  }
  return best;
}

function exampleOf(
  service: string,
  traces: readonly SampledTrace[],
  contributions: readonly Contribution[],
): string {
  let best = 0;
  for (let index = 1; index < contributions.length; index += 1) {
    if (
      (contributions[index]?.byService.get(service) ?? 0) > (contributions[best]?.byService.get(service) ?? 0)
    )
      best = index;
  }
  return traces[best]?.traceId ?? '';
}

/**
 * Adds each trace origin to the root cause of its service as evidence (after the item that ranked it), with
 * the query that shows it. Origins in services that are not root causes stay in `origins` for the report.
 */
export function withTraceOrigins(
  report: RcaReport,
  origins: TraceOrigins,
  query: (origin: Pick<ErrorOrigin | LatencyOrigin | SharedCallee, 'exampleTraceId'>) => string,
): RcaReport {
  const at = report.window.end;
  const evidence = new Map<string, Evidence[]>();
  const add = (service: string, item: Evidence) => {
    evidence.set(service, [...(evidence.get(service) ?? []), item]);
  };
  for (const origin of origins.errors) {
    add(origin.service, {
      source: 'trace',
      metric: 'trace.error_origin',
      unit: 'traces',
      summary: `failures begin here in ${origin.traces} of ${origin.of} failing traces since onset (${origin.tracesBefore} of ${origin.ofBefore} before): ${origin.operation}${origin.message === null ? '' : ` — ${origin.message}`}; e.g. trace ${origin.exampleTraceId}`,
      z: 0,
      change: origin.traces,
      baseline: { median: origin.tracesBefore, scale: 0, samples: origin.ofBefore },
      peak: { at, value: origin.traces },
      unexplained: 1,
      query: query(origin),
    });
  }
  for (const callee of origins.sharedCallees ?? []) {
    add(callee.service, {
      source: 'trace',
      metric: 'trace.failing_callers',
      unit: 'traces',
      summary: `failures begin at its callers ${callee.callers.join(', ')} right after they call it, in ${callee.traces} failing traces since onset (a wrong answer fails the caller); e.g. trace ${callee.exampleTraceId}`,
      z: 0,
      change: callee.traces,
      baseline: { median: 0, scale: 0, samples: 0 },
      peak: { at, value: callee.traces },
      unexplained: 1,
      query: query({ exampleTraceId: callee.exampleTraceId }),
    });
  }
  for (const origin of origins.latency) {
    add(origin.service, {
      source: 'trace',
      metric: 'trace.critical_path_self_time',
      unit: 'ms',
      summary: `adds ${ms(origin.addedMs)} ms to the mean request on the critical path (${ms(origin.baselineMs)} → ${ms(origin.incidentMs)} ms per trace, ${Math.round(origin.share * 100)}% of the added latency), most in ${origin.operation}; e.g. trace ${origin.exampleTraceId}`,
      z: 0,
      change: origin.addedMs,
      baseline: { median: origin.baselineMs, scale: 0, samples: origin.tracesBefore },
      peak: { at, value: origin.incidentMs },
      unexplained: 1,
      query: query(origin),
    });
  }
  return {
    ...report,
    rootCauses: report.rootCauses.map((cause) => {
      const own = evidence.get(cause.service);
      if (own === undefined) return cause;
      const [first, ...rest] = cause.evidence;
      return { ...cause, evidence: first === undefined ? own : [first, ...own, ...rest] };
    }),
  };
}

/**
 * The service a call span's own time is charged to, or null for the span's service. A client span's self time is
 * the call's wire time: connecting, sending, the network both ways and the callee's queue before its server span
 * starts, after it ends. That is the callee's (a slow network to one service shows on every call into it, from
 * any caller), so it is charged to the service its children run in when they all run in one other service, or to
 * its peer when the callee left no span. A span of unknown kind with children in exactly one other service is a
 * call too: instrumentations put a client span between a server span and an outgoing request.
 */
function calleeCharged(span: OriginSpan, children: readonly OriginSpan[]): string | null {
  if (span.kind !== 'CLIENT' && span.kind !== 'PRODUCER' && span.kind !== 'UNSPECIFIED') return null;
  if (children.length === 0) return span.kind === 'CLIENT' ? calleeOf(span.peer) : null;
  const services = new Set(children.map((child) => child.service));
  const [only] = services;
  return services.size === 1 && only !== undefined && only !== span.service ? only : null;
}

/** [caller, callee] of every span whose parent runs in another service: one per call received. */
function callsOf(trace: SampledTrace): (readonly [string, string])[] {
  const serviceOf = new Map(trace.spans.map((span) => [span.spanId, span.service]));
  const calls: (readonly [string, string])[] = [];
  for (const span of trace.spans) {
    const parent = span.parentSpanId === null ? undefined : serviceOf.get(span.parentSpanId);
    if (parent !== undefined && parent !== span.service) calls.push([parent, span.service]);
  }
  return calls;
}

/** The called service a peer names: `cart:8080` → `cart` (services are named without ports). */
function calleeOf(peer: string | null): string | null {
  return peer === null ? null : peer.replace(/:\d+$/, '');
}

/** Three significant digits: 298.504 → 299, 12.3456 → 12.3. */
function ms(value: number): string {
  return String(Number(value.toPrecision(3)));
}

function childMap(spans: readonly OriginSpan[]): Map<string, OriginSpan[]> {
  const children = new Map<string, OriginSpan[]>();
  for (const span of spans) {
    if (span.parentSpanId === null) continue;
    const list = children.get(span.parentSpanId);
    if (list === undefined) children.set(span.parentSpanId, [span]);
    else list.push(span);
  }
  return children;
}

function average(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function variance(values: readonly number[], mean: number): number {
  if (values.length < 2) return 0;
  return values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
