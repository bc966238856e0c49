// The RCA engine's vocabulary. Everything it judges is a time series of one service (from metrics, spans or
// logs), and the call graph between services. Analyzers here are pure: callers gather the data.

/**
 * `performance`: how well a service serves (latency, errors, saturation, any metric of unknown meaning): a change
 * at onset is evidence against the service. `traffic`: how much it is asked to do; load is an input, not a
 * fault, so traffic is context in a report, except when a service stops serving altogether.
 */
export type SeriesKind = 'performance' | 'traffic';

export interface Series {
  readonly service: string;
  /**
   * The measurement, the same text for the same measurement of every service (metric name and point
   * attributes), so that a caller's change can be compared with its callees' change of the same thing.
   */
  readonly metric: string;
  readonly kind: SeriesKind;
  readonly source: 'metric' | 'trace' | 'log' | 'event' | 'change';
  readonly unit: string;
  /** [time in µs since the epoch, value], in time order. */
  readonly points: readonly (readonly [number, number])[];
  /** A trace that shows it, for a measurement read from traces. */
  readonly exampleTraceId?: string;
}

/** caller → callee */
export type Edge = readonly [caller: string, callee: string];

export interface RcaWindow {
  /** When the incident began (µs); the incident window is [onsetUs, endUs]. */
  readonly onsetUs: number;
  readonly endUs: number;
  /** The normal period to compare with; the incident window is never part of it. */
  readonly baselineStartUs: number;
  readonly baselineEndUs: number;
}

export interface RcaInput {
  readonly series: readonly Series[];
  readonly edges: readonly Edge[];
  readonly window: RcaWindow;
  /**
   * The service where the incident was seen (the alerted one), when known: causes are looked for in it and in
   * what it calls, directly or through others. Other anomalies are listed as excluded.
   */
  readonly focus?: string | undefined;
  /** What the platform saw happen: lifecycle events and changes, judged by their kind and time, not by z. */
  readonly signals?: readonly PlatformSignal[] | undefined;
  /**
   * Where other evidence places the fault by itself, each an independent vote in the ranking: the traces' added
   * critical-path latency and error origins, the services that began logging new or surging errors.
   */
  readonly localisations?: readonly Localisation[] | undefined;
  /** Calls per request from one service to another that multiplied at onset (from traces): changed behaviour. */
  readonly callChanges?: readonly CallChange[] | undefined;
}

/**
 * A caller that now makes many more calls to a callee per request than before (an N+1 query, a retry storm, a
 * loop): not load (load is more requests, not more calls per request) but the caller's own behaviour changing.
 */
export interface CallChange {
  readonly caller: string;
  readonly callee: string;
  /** Mean calls per trace through the caller, before and after onset. */
  readonly before: number;
  readonly after: number;
  readonly exampleTraceId: string;
}

/** One kind of evidence's answer to "where did it start?": services with their share of that evidence. */
export interface Localisation {
  readonly source: 'trace-latency' | 'trace-errors' | 'log-templates';
  /** Non-negative weights (added ms at the lower bound, failing traces, error lines); normalised by the engine. */
  readonly services: readonly { readonly service: string; readonly weight: number }[];
}

/**
 * `certain`: a fault by itself (a crash loop, an out-of-memory kill, scaled to zero replicas); `suggestive`: a
 * change that often causes incidents (a release, a configuration change) when it lands shortly before onset.
 */
export interface PlatformSignal {
  readonly service: string;
  readonly atUs: number;
  readonly source: 'event' | 'change';
  /** OOMKilled, BackOff, ScaledToZero, Release, ConfigChange, … */
  readonly reason: string;
  readonly summary: string;
  readonly strength: 'certain' | 'suggestive';
  /** How to see it again. */
  readonly query: string;
}

/** How one series changed at onset. */
export interface SeriesVerdict {
  readonly series: Series;
  /** Robust z-score of the change at onset (signed); 0 when the change began before onset. */
  readonly z: number;
  /** The change in the series' own unit (signed). */
  readonly change: number;
  readonly baselineMedian: number;
  readonly baselineScale: number;
  readonly baselineSamples: number;
  /** The incident point furthest from normal. */
  readonly peakUs: number;
  readonly peakValue: number;
  /** Each incident point's departure from normal, [time µs, change] (0 where it had moved before onset). */
  readonly departures: readonly (readonly [number, number])[];
  /** First incident point past the anomaly threshold, or null. */
  readonly firstAnomalousUs: number | null;
  readonly anomalous: boolean;
}

export type RootCauseKind =
  'latency' | 'errors' | 'saturation' | 'traffic' | 'crash' | 'scaled-to-zero' | 'change' | 'anomaly';

export interface Evidence {
  readonly source: Series['source'];
  readonly metric: string;
  readonly unit: string;
  readonly summary: string;
  readonly z: number;
  readonly change: number;
  readonly baseline: { readonly median: number; readonly scale: number; readonly samples: number };
  readonly peak: { readonly at: string; readonly value: number };
  /** Of this service's change, the part its callees do not explain (0..1). */
  readonly unexplained: number;
  /** How to see it again: the series and the window to read. */
  readonly query: string;
}

export interface RootCause {
  readonly service: string;
  /** Share of the ranking's total weight (0..1); the ranked list sums to at most 1. */
  readonly score: number;
  readonly kind: RootCauseKind;
  readonly evidence: readonly Evidence[];
  /** Anomalous services upstream whose change this one can explain. */
  readonly explains: readonly string[];
}

export interface ExcludedCause {
  readonly service: string;
  readonly reason: string;
}

export interface TimelineEntry {
  readonly at: string;
  readonly service: string;
  readonly what: string;
}

export interface RcaReport {
  readonly window: {
    readonly onset: string;
    readonly end: string;
    readonly baselineStart: string;
    readonly baselineEnd: string;
  };
  /** Best first. Empty when nothing changed at onset: see `noRootCause`. */
  readonly rootCauses: readonly RootCause[];
  readonly excluded: readonly ExcludedCause[];
  readonly timeline: readonly TimelineEntry[];
  readonly noRootCause: string | null;
  readonly analyzed: {
    readonly services: number;
    readonly series: number;
    readonly anomalousSeries: number;
    readonly edges: number;
  };
}
