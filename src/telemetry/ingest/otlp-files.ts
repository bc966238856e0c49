// Reads OTLP JSON lines files (the OpenTelemetry Collector's file exporter format: one
// ExportTraceServiceRequest, ExportMetricsServiceRequest or ExportLogsServiceRequest per line, any mix) into
// telemetry records. Each bad line is reported with its file and line number. Gzipped files (`.gz`, or any file
// that starts with the gzip magic bytes) are decompressed as they are read.
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidError } from '../../core/errors.js';
import { emptyBatch, type TelemetryBatch } from '../model.js';
import { decodeJson, OtlpJsonError, signalOf } from './otlp-json.js';
import { ResourceIdentities } from './resource-identity.js';

/** Files named by `paths`; a folder stands for its *.json, *.jsonl and *.ndjson files, gzipped or not. */
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
      .filter((name) => /\.(jsonl?|ndjson)(\.gz)?$/i.test(name))
      .sort()
      .map((name) => join(path, name));
    if (inside.length === 0) {
      throw new InvalidError(`folder ${path} holds no .json, .jsonl or .ndjson files (or their .gz)`, [], {
        hint: 'Point --input at the OTLP files themselves.',
      });
    }
    files.push(...inside);
  }
  return files;
}

/** The file's text: gunzipped when it is gzip (by its first two bytes, whatever its name). */
function openText(file: string): Readable {
  const raw = createReadStream(file);
  if (!isGzip(file)) return raw;
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  gunzip.on('error', () => undefined); // surfaced by the line iterator
  return raw.pipe(gunzip);
}

function isGzip(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

export async function readOtlpFiles(paths: readonly string[]): Promise<TelemetryBatch> {
  const identities = new ResourceIdentities();
  const batch = emptyBatch();
  for (const file of expandInputs(paths)) {
    const lines = createInterface({ input: openText(file), crlfDelay: Infinity });
    let lineNumber = 0;
    try {
      for await (const line of lines) {
        lineNumber += 1;
        if (line.trim() !== '') decodeLine(line, `${file}:${lineNumber}`, identities, batch);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code.startsWith('Z_')) {
        throw new InvalidError(`${file}: not readable gzip after line ${lineNumber} (${code})`, [], {
          hint: 'The file is truncated or corrupt; compress it again with gzip, or pass it uncompressed.',
        });
      }
      throw error;
    }
  }
  return batch;
}

function decodeLine(
  line: string,
  where: string,
  identities: ResourceIdentities,
  batch: TelemetryBatch,
): void {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch (error) {
    throw new InvalidError(`${where}: not JSON (${(error as Error).message})`, [], {
      hint: 'Each line must be one OTLP/JSON export request, as the Collector file exporter writes.',
    });
  }
  const signal = signalOf(request);
  if (signal === undefined) {
    throw new InvalidError(
      `${where}: not an OTLP export request (no resourceSpans, resourceMetrics or resourceLogs)`,
      [],
      { hint: 'Each line must be one OTLP/JSON export request, as the Collector file exporter writes.' },
    );
  }
  const hint = 'See https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding for the JSON mapping.';
  const rejected = (): number => batch.rejected.logs + batch.rejected.spans + batch.rejected.points;
  const before = rejected();
  try {
    decodeJson(signal, request, identities, batch);
  } catch (error) {
    if (!(error instanceof OtlpJsonError)) throw error;
    throw new InvalidError(`${where}: ${error.message}`, [], { hint });
  }
  // A file is read whole or not at all: a record the receiver would reject alone stops the import here.
  if (rejected() > before)
    throw new InvalidError(`${where}: ${batch.rejected.reason ?? 'a record was rejected'}`, [], { hint });
}
