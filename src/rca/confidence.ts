// The confidence a report shows for its causes. The ranking's score is a share of the engine's weight, whose
// scale is the engine's to change; how sure a reader may be is a separate, documented judgement: how far the top
// cause stands above the runner-up, and how many independent kinds of evidence agree on it (docs/rca.md).
import type { RcaReportView } from './contracts.js';

type RootCauseView = RcaReportView['rootCauses'][number];
export type EvidenceKind = 'metrics' | 'logs' | 'traces' | 'changes';

export interface ConfidenceSettings {
  /** Confidence of a top cause tied with the runner-up on one kind of evidence. */
  readonly floor: number;
  /** Confidence of a top cause with no runner-up, or all kinds of evidence and a margin of 1. */
  readonly ceiling: number;
  /** How much each agreeing kind of evidence past the first closes the gap to the ceiling (0..1 each). */
  readonly perAgreeingKind: number;
}

export const confidenceSettings: ConfidenceSettings = { floor: 0.5, ceiling: 0.95, perAgreeingKind: 0.2 };

const kindOfSource: Readonly<Record<string, EvidenceKind>> = {
  metric: 'metrics',
  log: 'logs',
  trace: 'traces',
  event: 'changes',
  change: 'changes',
};

/** The independent kinds of evidence a cause's evidence comes from (platform events and changes are one). */
export function agreeingKinds(cause: Pick<RootCauseView, 'evidence'>): EvidenceKind[] {
  const kinds = new Set<EvidenceKind>();
  for (const item of cause.evidence) {
    const kind = kindOfSource[item.source];
    if (kind !== undefined) kinds.add(kind);
  }
  return (['metrics', 'logs', 'traces', 'changes'] as const).filter((kind) => kinds.has(kind));
}

/**
 * Confidence per cause, best first. For the top cause, with m its relative margin over the runner-up
 * ((s₁ − s₂) / s₁, 1 without a runner-up) and k the agreeing kinds of evidence (1..4):
 *
 *   a = perAgreeingKind · (k − 1),  g = 1 − (1 − m) · (1 − a),  confidence = floor + (ceiling − floor) · g
 *
 * so a tie on one kind of evidence is 50 %, a clear margin or broad agreement approaches 95 %, and neither the
 * absolute scores nor the length of the tail of weak candidates matter. The others share what is left in
 * proportion to their scores.
 */
export function confidences(
  causes: readonly Pick<RootCauseView, 'score' | 'evidence'>[],
  settings: ConfidenceSettings = confidenceSettings,
): number[] {
  const [top, runnerUp, ...rest] = causes;
  if (top === undefined) return [];
  const margin =
    top.score <= 0 ? 0 : runnerUp === undefined ? 1 : Math.max(0, (top.score - runnerUp.score) / top.score);
  const kinds = Math.max(1, agreeingKinds(top).length);
  const agreement = Math.min(1, settings.perAgreeingKind * (kinds - 1));
  const gap = 1 - (1 - margin) * (1 - agreement);
  const first = settings.floor + (settings.ceiling - settings.floor) * gap;
  const others = [runnerUp, ...rest].filter((cause) => cause !== undefined);
  const total = others.reduce((sum, cause) => sum + Math.max(0, cause.score), 0);
  return [
    round(first),
    ...others.map((cause) =>
      round(total <= 0 ? (1 - first) / others.length : ((1 - first) * Math.max(0, cause.score)) / total),
    ),
  ];
}

/** The causes with their confidence and agreeing kinds filled in. */
export function withConfidence<T extends Pick<RootCauseView, 'score' | 'evidence'>>(
  causes: readonly T[],
): (T & { confidence: number; agreeing: EvidenceKind[] })[] {
  const values = confidences(causes);
  return causes.map((cause, index) => ({
    ...cause,
    confidence: values[index] ?? 0,
    agreeing: agreeingKinds(cause),
  }));
}

/** What a reader sees: the report's confidence, or the score of a report made before confidence existed. */
export function shownConfidence(cause: Pick<RootCauseView, 'score' | 'confidence'>): number {
  return cause.confidence ?? cause.score;
}

/** "87%" */
export function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
