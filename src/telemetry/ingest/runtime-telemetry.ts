// Puts what the runtime sees into the telemetry store, under the same identity OTLP data gets: every replica's
// stdout/stderr lines as logs (structured JSON lines keep their level, message and trace id), cpu/memory samples
// as metrics, and lifecycle events as log records with an event name.
import type { LogLine, ResourceSample, RuntimeEvent, RuntimeListener } from '../../runtime/ports.js';
import {
  emptyBatch,
  severity,
  type Attributes,
  type AttributeValue,
  type ResourceIdentity,
  type TelemetryBatch,
} from '../model.js';
import type { ResourceIdentities } from './resource-identity.js';

export const replicaCpuMetric = 'opspilot.replica.cpu';
export const replicaMemoryMetric = 'opspilot.replica.memory';
export const runtimeScope = 'opspilot.runtime';

export class RuntimeTelemetry implements RuntimeListener {
  constructor(
    private readonly write: (batch: TelemetryBatch) => Promise<void>,
    private readonly identities: ResourceIdentities,
    private readonly onDropped: (error: unknown) => void = () => undefined,
  ) {}

  log(line: LogLine): void {
    const batch = emptyBatch();
    const parsed = parseLine(line.line, line.stream);
    batch.logs.push({
      resource: this.resourceOf(line.labels, line.replica),
      timeUs: parsed.timeUs ?? Date.parse(line.timestamp) * 1000,
      severityNumber: parsed.severityNumber,
      severityText: parsed.severityText,
      body: parsed.body,
      traceId: parsed.traceId,
      spanId: parsed.spanId,
      attributes: { 'log.iostream': line.stream, ...parsed.attributes },
      scope: runtimeScope,
      eventName: '',
    });
    this.send(batch);
  }

  sample(sample: ResourceSample): void {
    const batch = emptyBatch();
    const resource = this.resourceOf(sample.labels, sample.replica);
    const timeUs = Date.parse(sample.timestamp) * 1000;
    const point = {
      resource,
      type: 'gauge' as const,
      temporality: 0,
      monotonic: false,
      timeUs,
      startUs: 0,
      count: 0,
      min: Number.NaN,
      max: Number.NaN,
      bounds: [],
      bucketCounts: [],
      attributes: {},
    };
    batch.points.push({ ...point, name: replicaCpuMetric, unit: 'm', value: sample.cpuMillicores });
    batch.points.push({ ...point, name: replicaMemoryMetric, unit: 'By', value: sample.memoryBytes });
    this.send(batch);
  }

  event(event: RuntimeEvent): void {
    const batch = emptyBatch();
    batch.logs.push({
      resource: this.resourceOf(event.labels, event.replica ?? ''),
      timeUs: Date.parse(event.timestamp) * 1000,
      severityNumber: event.type === 'Warning' ? severity.warn : severity.info,
      severityText: event.type === 'Warning' ? 'WARN' : 'INFO',
      body: event.message,
      traceId: '',
      spanId: '',
      attributes: { 'opspilot.event.reason': event.reason, 'opspilot.event.type': event.type },
      scope: runtimeScope,
      eventName: event.reason,
    });
    this.send(batch);
  }

  private resourceOf(labels: Readonly<Record<string, string>>, replica: string): ResourceIdentity {
    const attributes: Attributes = {
      'service.name': labels.component ?? 'unknown_service',
      'opspilot.namespace': labels.namespace ?? 'default',
      'opspilot.project': labels.project ?? '',
      'opspilot.component': labels.component ?? '',
      'opspilot.environment': labels.environment ?? '',
    };
    if (replica !== '') attributes['service.instance.id'] = replica;
    if (labels.release !== undefined) attributes['service.version'] = labels.release;
    return this.identities.identify(attributes);
  }

  private send(batch: TelemetryBatch): void {
    this.write(batch).catch(this.onDropped);
  }
}

export interface ParsedLine {
  body: string;
  severityNumber: number;
  severityText: string;
  traceId: string;
  spanId: string;
  timeUs: number | undefined;
  attributes: Attributes;
}

const levelWords: [RegExp, number, string][] = [
  [/\b(FATAL|CRITICAL|PANIC)\b/i, severity.fatal, 'FATAL'],
  [/\b(ERROR|ERR|SEVERE)\b/i, severity.error, 'ERROR'],
  [/\b(WARN|WARNING)\b/i, severity.warn, 'WARN'],
  [/\b(INFO|NOTICE)\b/i, severity.info, 'INFO'],
  [/\b(DEBUG)\b/i, severity.debug, 'DEBUG'],
  [/\b(TRACE)\b/i, severity.trace, 'TRACE'],
];
const traceIdInText = /\btrace[_.-]?id["']?\s*[=:]\s*["']?([0-9a-f]{32})\b/i;
const spanIdInText = /\bspan[_.-]?id["']?\s*[=:]\s*["']?([0-9a-f]{16})\b/i;

/**
 * Reads a captured output line. JSON lines (pino, winston, bunyan, OpenTelemetry-style) give their level,
 * message, time and trace/span ids; plain lines give a level word near the start and `trace_id=…` if present.
 * Without a level, stdout is INFO and stderr WARN.
 */
export function parseLine(line: string, stream: 'stdout' | 'stderr'): ParsedLine {
  const fallback = stream === 'stderr' ? severity.warn : severity.info;
  if (line.startsWith('{') && line.endsWith('}')) {
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      return parseRecord(record, fallback);
    } catch {
      // not JSON after all: treat as text
    }
  }
  const head = line.slice(0, 64);
  const level = levelWords.find(([pattern]) => pattern.test(head));
  return {
    body: line,
    severityNumber: level?.[1] ?? fallback,
    severityText: level?.[2] ?? (stream === 'stderr' ? 'WARN' : 'INFO'),
    traceId: (traceIdInText.exec(line)?.[1] ?? '').toLowerCase(),
    spanId: (spanIdInText.exec(line)?.[1] ?? '').toLowerCase(),
    timeUs: undefined,
    attributes: {},
  };
}

const messageKeys = ['msg', 'message', 'body'];
const levelKeys = ['level', 'severity', 'severity_text', 'levelname', 'lvl'];
const traceKeys = ['trace_id', 'traceId', 'trace.id', 'traceid', 'dd.trace_id'];
const spanKeys = ['span_id', 'spanId', 'span.id', 'spanid'];
const timeKeys = ['time', 'timestamp', 'ts', '@timestamp'];

function parseRecord(record: Record<string, unknown>, fallback: number): ParsedLine {
  const take = (keys: readonly string[]): unknown => {
    for (const key of keys) if (key in record) return record[key];
    return undefined;
  };
  const message = take(messageKeys);
  const level = levelOf(take(levelKeys), fallback);
  const traceId = hexId(take(traceKeys), 32);
  const spanId = hexId(take(spanKeys), 16);
  const attributes: Attributes = {};
  const used = new Set([...messageKeys, ...levelKeys, ...traceKeys, ...spanKeys, ...timeKeys]);
  for (const [key, value] of Object.entries(record)) {
    if (!used.has(key) && Object.keys(attributes).length < 64) attributes[key] = value as AttributeValue;
  }
  return {
    body: typeof message === 'string' ? message : JSON.stringify(record),
    severityNumber: level[0],
    severityText: level[1],
    traceId,
    spanId,
    timeUs: timeOf(take(timeKeys)),
    attributes,
  };
}

/** pino numbers (10…60), syslog-ish names, or OTLP-like text. */
function levelOf(value: unknown, fallback: number): [number, string] {
  if (typeof value === 'number') {
    if (value >= 60) return [severity.fatal, 'FATAL'];
    if (value >= 50) return [severity.error, 'ERROR'];
    if (value >= 40) return [severity.warn, 'WARN'];
    if (value >= 30) return [severity.info, 'INFO'];
    if (value >= 20) return [severity.debug, 'DEBUG'];
    if (value >= 10) return [severity.trace, 'TRACE'];
  }
  if (typeof value === 'string') {
    const found = levelWords.find(([pattern]) => pattern.test(value));
    if (found !== undefined) return [found[1], found[2]];
  }
  return [fallback, fallback >= severity.warn ? 'WARN' : 'INFO'];
}

function hexId(value: unknown, length: number): string {
  return typeof value === 'string' && value.length === length && /^[0-9a-f]+$/i.test(value)
    ? value.toLowerCase()
    : '';
}

/** Epoch milliseconds (pino) or an ISO date; anything else means "when it was captured". */
function timeOf(value: unknown): number | undefined {
  const milliseconds =
    typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(milliseconds)) return undefined;
  // Only believe a time within a day of now: a number in seconds, or a bogus clock, is not a time to sort by.
  return Math.abs(milliseconds - Date.now()) < 86_400_000 ? Math.round(milliseconds * 1000) : undefined;
}
