// The port through which an LLM writes a report's narrative and answers questions about it. Optional: without
// one, or when it fails or is slow, the deterministic narrative and answers (below) are used. An LLM never
// changes the verdict: it only sees the finished report.
import type { z } from 'zod';
import { percent, shownConfidence } from './confidence.js';
import type { RcaReportView } from './contracts.js';
import { cliHint } from './hints.js';

export interface LlmUsage {
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

export interface ChatTurn {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

/**
 * A read the LLM may make while answering a question about a report: as the person asking (authorized and
 * audited like their own reads), within the report's namespace. Never a write.
 */
export interface ChatTool {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodObject;
  run(args: Record<string, unknown>): Promise<unknown>;
}

/** A piece of a streamed answer: text, or a tool the LLM called to look something up. */
export type ChatChunk = { readonly text: string } | { readonly tool: string; readonly input: unknown };

export interface ReportWriter {
  /** A better-written narrative of the finished report, within the configured timeout. */
  narrative(report: RcaReportView): Promise<{ text: string; usage: LlmUsage }>;
  /**
   * Streams an answer grounded in the report, looking further with `tools` where the report is not enough;
   * `done` resolves with the usage (every step) once the stream ends.
   */
  answer(
    report: RcaReportView,
    history: readonly ChatTurn[],
    question: string,
    tools: readonly ChatTool[],
    /** Aborted when the person asking goes away: no more lookups or tokens are spent. */
    signal?: AbortSignal,
  ): { chunks: AsyncIterable<ChatChunk>; done: Promise<LlmUsage> };
}

/** Timeline entries that are changes: releases, binding and configuration changes, scaling. */
const changePattern = /\brelease\b|\bchanged\b|\bscaled\b|moved from/i;

/**
 * Answers from the report alone: why not another service, what changed, what happened in order, the evidence,
 * what to do, what was ruled out.
 */
export function deterministicAnswer(report: RcaReportView, question: string): string {
  const text = question.toLowerCase();
  const top = report.rootCauses[0];
  const lines: string[] = [];
  const asked = askedAbout(report, text);
  if (asked !== undefined && /why not|\bnot\b|rule[sd]? out|exclud|instead|rather than/.test(text)) {
    return whyNot(report, asked);
  }
  if (/what changed|chang|deploy|release|rollout|config/.test(text)) lines.push(whatChanged(report));
  if (/timeline|happen|when|order/.test(text)) {
    const entries = report.timeline.slice(0, 12);
    lines.push(
      entries.length === 0
        ? 'The report holds no timeline entries.'
        : `What happened, in order:\n${entries.map((entry) => `- ${entry.at} ${entry.service}: ${entry.what}`).join('\n')}`,
    );
  }
  if (/evidence|why|proof|sure|confiden|show/.test(text)) {
    lines.push(
      top === undefined
        ? `No root cause was found: ${report.noRootCause ?? 'nothing changed at onset'}.`
        : `${top.service} (${top.kind}, confidence ${percent(shownConfidence(top))}) because:\n${evidenceLines(top)}${top.explains.length === 0 ? '' : `\nIt explains what was seen at ${top.explains.join(', ')}.`}`,
    );
  }
  if (/\bdo\b|fix|remed|action|next|recommend|approve/.test(text)) {
    lines.push(
      report.recommendations.length === 0
        ? 'The report has no recommendation.'
        : `What to do:\n${report.recommendations.map((item) => `- ${item}`).join('\n')}`,
    );
  }
  if (/exclud|not |rule|other|else|alternativ/.test(text)) {
    const others = report.rootCauses
      .slice(1, 4)
      .map((cause) => `- ${cause.service} (${percent(shownConfidence(cause))})`);
    const excluded = report.excluded.slice(0, 5).map((item) => `- not ${item.service}: ${item.reason}`);
    lines.push(
      [...others, ...excluded].length === 0
        ? 'Nothing else was considered.'
        : `Also considered and ruled out:\n${[...others, ...excluded].join('\n')}`,
    );
  }
  if (lines.length === 0) {
    lines.push(
      report.narrative || report.error || 'The investigation has not finished yet.',
      'Ask what changed, why not another service ("why not cart?"), the evidence, what to do, or what was ruled out.',
    );
  }
  return lines.join('\n\n');
}

/** The service a question names: a ranked or excluded one, the alerted one, or one in the timeline. */
function askedAbout(report: RcaReportView, text: string): string | undefined {
  const known = new Set([
    ...report.rootCauses.map((cause) => cause.service),
    ...report.excluded.map((item) => item.service),
    ...report.timeline.map((entry) => entry.service),
    ...(report.alert.component === null ? [] : [report.alert.component]),
  ]);
  const named = [...known].filter((service) =>
    new RegExp(`(^|[^\\w-])${service.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`, 'i').test(text),
  );
  // "why not X": the name right after "not" wins over others the question mentions.
  const after = /why not (?:the )?([\w.-]+)/.exec(text)?.[1];
  return (
    named.find((service) => service.toLowerCase() === after) ??
    named.sort((a, b) => b.length - a.length)[0] ??
    after
  );
}

function whyNot(report: RcaReportView, service: string): string {
  const top = report.rootCauses[0];
  const rank = report.rootCauses.findIndex((cause) => cause.service.toLowerCase() === service.toLowerCase());
  const cause = report.rootCauses[rank];
  const excluded = report.excluded.find((item) => item.service.toLowerCase() === service.toLowerCase());
  if (top !== undefined && rank === 0) {
    return `${top.service} is the most likely cause (${top.kind}, confidence ${percent(shownConfidence(top))}):\n${evidenceLines(top)}`;
  }
  const lines: string[] = [];
  if (excluded !== undefined) lines.push(`Not ${excluded.service}: ${excluded.reason}.`);
  if (cause !== undefined && top !== undefined) {
    lines.push(
      `${cause.service} ranks #${rank + 1} with confidence ${percent(shownConfidence(cause))} (ranking weight ${cause.score} against ${top.score} for ${top.service}).`,
      `Its evidence:\n${evidenceLines(cause)}`,
      `${top.service} ranks above it${cause.explains.length < top.explains.length ? `: it explains more of what was seen (${top.explains.join(', ') || 'itself'} against ${cause.explains.join(', ') || 'nothing upstream'})` : ''}${(top.agreeing?.length ?? 0) > (cause.agreeing?.length ?? 0) ? `, and more kinds of evidence agree on it (${top.agreeing?.join(', ') ?? ''})` : ''}.`,
    );
  }
  if (lines.length === 0) {
    lines.push(
      `${service} is neither among the ranked causes nor excluded: nothing of it changed at onset beyond normal variation in the telemetry the report read${top === undefined ? '' : `; the most likely cause is ${top.service} (confidence ${percent(shownConfidence(top))})`}.`,
    );
  }
  return lines.join('\n');
}

function whatChanged(report: RcaReportView): string {
  const changes = report.timeline.filter((entry) => changePattern.test(entry.what));
  const seen = new Set(changes.map((entry) => entry.what));
  const changeEvidence = report.rootCauses
    .flatMap((cause) =>
      cause.evidence.filter((item) => item.source === 'change').map((item) => ({ cause, item })),
    )
    .filter(({ item }) => !seen.has(item.summary) && ![...seen].some((what) => what.includes(item.summary)));
  const signals = report.rootCauses.slice(0, 3).flatMap((cause) =>
    cause.evidence
      .filter((item) => item.source !== 'change' && item.source !== 'event')
      .slice(0, 2)
      .map((item) => `- ${cause.service}: ${item.summary}`),
  );
  const parts: string[] = [];
  parts.push(
    changes.length + changeEvidence.length === 0
      ? 'No release, binding or configuration change is recorded in the incident window.'
      : `Changes in the incident window:\n${[
          ...changes.map((entry) => `- ${entry.at} ${entry.service}: ${entry.what}`),
          ...changeEvidence.map(({ cause, item }) => `- ${item.peak.at} ${cause.service}: ${item.summary}`),
        ].join('\n')}`,
  );
  if (signals.length > 0) parts.push(`Signals that changed at onset:\n${signals.join('\n')}`);
  return parts.join('\n\n');
}

function evidenceLines(cause: RcaReportView['rootCauses'][number]): string {
  return cause.evidence
    .map((item) => {
      const hint = cliHint(item);
      return `- ${item.summary}${hint === null ? '' : `\n  see: ${hint}`}`;
    })
    .join('\n');
}
