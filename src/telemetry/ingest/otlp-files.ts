// Reads OTLP JSON lines files (the OpenTelemetry Collector's file exporter format: one
// ExportTraceServiceRequest, ExportMetricsServiceRequest or ExportLogsServiceRequest per line, any mix) into
// telemetry records. Each bad line is reported with its file and line number.
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidError } from '../../core/errors.js';
import { emptyBatch, type TelemetryBatch } from '../model.js';
import { decodeJson, OtlpJsonError, signalOf } from './otlp-json.js';
import { ResourceIdentities } from './resource-identity.js';

/** Files named by `paths`; a folder stands for its *.json, *.jsonl and *.ndjson files. */
export function expandInputs(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = statSync(path);
    } catch {
      throw new InvalidError(`input ${path} does not exist`, [], {
        hint: 'Pass OTLP JSON lines files or folders.',
      });
    }
    if (!info.isDirectory()) {
      files.push(path);
      continue;
    }
    const inside = readdirSync(path)
      .filter((name) => /\.(jsonl?|ndjson)$/i.test(name))
      .sort()
      .map((name) => join(path, name));
    if (inside.length === 0) {
      throw new InvalidError(`folder ${path} holds no .json, .jsonl or .ndjson files`, [], {
        hint: 'Point --input at the OTLP files themselves.',
      });
    }
    files.push(...inside);
  }
  return files;
}

export async function readOtlpFiles(paths: readonly string[]): Promise<TelemetryBatch> {
  const identities = new ResourceIdentities();
  const batch = emptyBatch();
  for (const file of expandInputs(paths)) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber += 1;
      if (line.trim() === '') continue;
      let request: unknown;
      try {
        request = JSON.parse(line);
      } catch (error) {
        throw new InvalidError(`${file}:${lineNumber}: not JSON (${(error as Error).message})`, [], {
          hint: 'Each line must be one OTLP/JSON export request, as the Collector file exporter writes.',
        });
      }
      const signal = signalOf(request);
      if (signal === undefined) {
        throw new InvalidError(
          `${file}:${lineNumber}: not an OTLP export request (no resourceSpans, resourceMetrics or resourceLogs)`,
          [],
          { hint: 'Each line must be one OTLP/JSON export request, as the Collector file exporter writes.' },
        );
      }
      try {
        decodeJson(signal, request, identities, batch);
      } catch (error) {
        if (!(error instanceof OtlpJsonError)) throw error;
        throw new InvalidError(`${file}:${lineNumber}: ${error.message}`, [], {
          hint: 'See https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding for the JSON mapping.',
        });
      }
    }
  }
  return batch;
}
