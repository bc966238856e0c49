// The port through which an LLM writes a report's narrative and answers questions about it. Optional: without
// one, or when it fails or is slow, the deterministic narrative and answers (below) are used. An LLM never
// changes the verdict: it only sees the finished report.
import type { z } from 'zod';
import type { RcaReportView } from './contracts.js';

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

/** Answers from the report alone: what changed, the evidence, what to do, what was ruled out. */
export function deterministicAnswer(report: RcaReportView, question: string): string {
  const text = question.toLowerCase();
  const top = report.rootCauses[0];
  const lines: string[] = [];
  if (/chang|deploy|release|rollout|happen|timeline|when/.test(text)) {
    const entries = report.timeline.slice(0, 8);
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
        : `${top.service} (${top.kind}, ${Math.round(top.score * 100)}%) because:\n${top.evidence
            .map((item) => `- ${item.summary}\n  see: ${item.query}`)
            .join(
              '\n',
            )}${top.explains.length === 0 ? '' : `\nIt explains what was seen at ${top.explains.join(', ')}.`}`,
    );
  }
  if (/do|fix|remed|action|next|recommend|approve/.test(text)) {
    lines.push(
      report.recommendations.length === 0
        ? 'The report has no recommendation.'
        : `What to do:\n${report.recommendations.map((item) => `- ${item}`).join('\n')}`,
    );
  }
  if (/exclud|not |rule|other|else|alternativ/.test(text)) {
    const others = report.rootCauses
      .slice(1, 4)
      .map((cause) => `- ${cause.service} (${Math.round(cause.score * 100)}%)`);
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
      'Ask about what changed, the evidence, what to do, or what was ruled out.',
    );
  }
  return lines.join('\n\n');
}
