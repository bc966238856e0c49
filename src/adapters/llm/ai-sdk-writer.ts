// An LLM writes narratives and chat answers through the AI SDK: any OpenAI-compatible endpoint (OpenAI, Azure,
// vLLM, Ollama, LiteLLM, …) or Anthropic. It only ever sees the finished report, as JSON, and is told to stay
// within it; the ranking is not its to change.
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import {
  generateText,
  stepCountIs,
  streamText,
  tool,
  type LanguageModel,
  type LanguageModelUsage,
  type TextStreamPart,
  type ToolSet,
} from 'ai';
import type { Config } from '../../config/config-schema.js';
import type { RcaReportView } from '../../rca/contracts.js';
import type { ChatChunk, ChatTool, ChatTurn, LlmUsage, ReportWriter } from '../../rca/writer.js';

type LlmConfig = Config['llm'];

const system = `You are the on-call assistant of opspilot, an SRE platform. You are given a finished root-cause
analysis report as JSON. Write for an on-call engineer: short, concrete, no speculation beyond the report. Name
the most likely root cause and its confidence, the evidence that supports it (with the queries to see it again),
what it explains, what was ruled out and why, and the ready remediation and how to approve it. If the report
found no root cause, say so and why. Never invent services, numbers or events that are not in the report.`;

const toolAdvice = `When the report does not answer the question, look it up with the tools (read-only, in the
report's namespace and window) and say what you looked at. Prefer the report's own evidence queries.`;

/** Text and tool calls of a multi-step stream; a failed or aborted step ends the stream with an error. */
async function* chunksOf(stream: AsyncIterable<TextStreamPart<ToolSet>>): AsyncIterable<ChatChunk> {
  for await (const part of stream) {
    if (part.type === 'text-delta') yield { text: part.text };
    else if (part.type === 'tool-call') yield { tool: part.toolName, input: part.input };
    else if (part.type === 'error')
      throw part.error instanceof Error ? part.error : new Error(String(part.error));
    else if (part.type === 'abort') throw new Error(`the answer was cut off (${part.reason ?? 'timeout'})`);
  }
}

/** The report without what the model does not need (ids of proposals stay: people approve them). */
function grounding(report: RcaReportView): string {
  const { llm: _llm, narrative: _narrative, ...rest } = report;
  return JSON.stringify(rest);
}

export class AiSdkWriter implements ReportWriter {
  private readonly model: LanguageModel;

  constructor(private readonly config: LlmConfig & { provider: NonNullable<LlmConfig['provider']> }) {
    const modelId = config.model ?? '';
    this.model =
      config.provider === 'anthropic'
        ? createAnthropic({
            ...(config.baseUrl === undefined ? {} : { baseURL: config.baseUrl }),
            apiKey: config.apiKey ?? '',
          })(modelId)
        : createOpenAICompatible({
            name: 'llm',
            baseURL: config.baseUrl ?? '',
            ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }),
            includeUsage: true,
          }).chatModel(modelId);
  }

  async narrative(report: RcaReportView): Promise<{ text: string; usage: LlmUsage }> {
    // The abort signal stops the request; the race also covers a provider that would not notice it.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no narrative within ${this.config.timeoutMs} ms`));
      }, this.config.timeoutMs + 500);
    });
    try {
      return await Promise.race([this.write(report), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async write(report: RcaReportView): Promise<{ text: string; usage: LlmUsage }> {
    const result = await generateText({
      model: this.model,
      system,
      prompt: `Write the incident narrative (at most 120 words, plain text) for this report:\n${grounding(report)}`,
      maxOutputTokens: this.config.maxOutputTokens,
      maxRetries: 0,
      abortSignal: AbortSignal.timeout(this.config.timeoutMs),
    });
    const text = result.text.trim();
    if (text === '') throw new Error('the LLM answered with an empty narrative');
    return { text, usage: this.usage(result.usage) };
  }

  answer(
    report: RcaReportView,
    history: readonly ChatTurn[],
    question: string,
    tools: readonly ChatTool[],
    signal?: AbortSignal,
  ): { chunks: AsyncIterable<ChatChunk>; done: Promise<LlmUsage> } {
    const steps = this.config.maxToolSteps;
    const result = streamText({
      model: this.model,
      system: `${system}\n${toolAdvice}\nThe report:\n${grounding(report)}`,
      messages: [
        ...history.map((turn) => ({ role: turn.role, content: turn.content })),
        { role: 'user', content: question },
      ],
      tools: Object.fromEntries(
        (steps === 0 ? [] : tools).map((item) => [
          item.name,
          tool({
            description: item.description,
            inputSchema: item.input,
            execute: (input: Record<string, unknown>) => item.run(input),
          }),
        ]),
      ),
      stopWhen: stepCountIs(steps + 1),
      // The last step answers with what was found: no more lookups.
      prepareStep: ({ stepNumber }) => (stepNumber >= steps ? { toolChoice: 'none' as const } : undefined),
      maxOutputTokens: this.config.maxOutputTokens,
      maxRetries: 0,
      abortSignal:
        signal === undefined
          ? AbortSignal.timeout(this.config.timeoutMs * 4)
          : AbortSignal.any([signal, AbortSignal.timeout(this.config.timeoutMs * 4)]),
      // Errors reach the caller through the stream (and the chat falls back to the report); no console noise.
      onError: () => undefined,
    });
    const done = Promise.resolve(result.totalUsage).then((usage) => this.usage(usage));
    // A failed stream rejects `done` too; the caller learns of it from the chunks and may not wait for it.
    done.catch(() => undefined);
    return { chunks: chunksOf(result.fullStream), done };
  }

  private usage(usage: LanguageModelUsage): LlmUsage {
    const inputTokens = usage.inputTokens ?? 0;
    const outputTokens = usage.outputTokens ?? 0;
    return {
      model: this.config.model ?? '',
      inputTokens,
      outputTokens,
      costUsd:
        (inputTokens * this.config.inputPricePerMillion + outputTokens * this.config.outputPricePerMillion) /
        1e6,
    };
  }
}

/** The configured writer, or undefined when no LLM is configured. */
export function createReportWriter(config: LlmConfig): ReportWriter | undefined {
  if (config.provider === undefined) return undefined;
  return new AiSdkWriter({ ...config, provider: config.provider });
}
