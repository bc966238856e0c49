// `opspilot analyze anomalies|log-templates`: the live analyzers run offline on files, with the same code and
// the same configuration the platform uses. No server needed.
import {
  createReadStream,
  createWriteStream,
  existsSync,
  renameSync,
  rmSync,
  type WriteStream,
} from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { StreamingAnomalyDetector } from '../../analysis/anomaly/detector.js';
import { groupMessages } from '../../analysis/log-templates/group-messages.js';
import { guessContents } from '../../analysis/log-templates/header.js';
import { contentOf, parseLogFormat, type LogFormat } from '../../analysis/log-templates/log-format.js';
import { csvRow, parseCsvLine } from '../../core/csv.js';
import { InvalidError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { registerAnalyzeRca } from './analyze-rca.js';

export function registerAnalyze(program: Command, context: CliContext): void {
  const analyze = program
    .command('analyze')
    .description(
      'Run the analyzers offline on files (no server needed): metric anomalies, log templates, root causes',
    );
  registerAnalyzeRca(analyze, context);

  analyze
    .command('anomalies')
    .description(
      'Score every point of a metric series for anomaly, causally (a score uses earlier rows only)',
    )
    .requiredOption('-i, --input <file>', "CSV with a header and columns timestamp,value ('-' for stdin)")
    .option('-o, --output <file>', 'CSV to write: timestamp,value,anomaly_score (default stdout)')
    .addHelpText(
      'after',
      `
Input: a header naming the columns timestamp and value (other columns are ignored), then one row per point in
time order. Timestamps are ISO 8601 ("2026-11-21T10:00:00Z", "2026-11-21 10:00:00" is read as UTC) or epoch
seconds or milliseconds.

Output: the same rows with anomaly_score in [0, 1): above 0.5 the value, or a moving mean of the last few
values, lies beyond the extremes of the series' last 6000 points by more than 10 % of their range (or breaks
yesterday's pattern by as much); above 0.9 it is beyond everything the series showed; 0 is inside the recent
range. Row i's score is computed from rows 1..i only, so it is what a live alert would have said at that
moment. One configuration for every series: nothing to tune.

Examples:
  opspilot analyze anomalies --input latency.csv --output scores.csv
  opspilot analyze anomalies -i - < cpu.csv | sort -t, -k3 -gr | head`,
    )
    .action(async (options: { input: string; output?: string }) => {
      try {
        await scoreAnomalies(options.input, options.output, context);
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  analyze
    .command('log-templates')
    .description('Group log lines by the message template they were printed from')
    .requiredOption('-i, --input <file>', "log file, one message per line ('-' for stdin)")
    .option('-o, --output <file>', 'CSV to write: LineId,EventId,EventTemplate (default stdout)')
    .option(
      '--format <format>',
      "header format, e.g. '<Date> <Time> <Level> <Component>: <Content>' (default: the header is guessed)",
    )
    .addHelpText(
      'after',
      `
Output: one row per input line: LineId (from 1), EventId (E1, E2, … in order of first appearance) and
EventTemplate, the message with its variable parts written <*>.

--format names header fields in <angle brackets> and must contain <Content>; the text between fields is
literal and a space matches any run of spaces. A format holding a backslash is a regular expression around
the fields, e.g. '<Month> <Date> <Time> <Host> <Component>(\\[<PID>\\])?: <Content>'. Lines that do not fit
the format are grouped by their whole text, and their number is reported. Without --format the header is
guessed: leading times, dates, pids, levels, bracketed fields and a closing component (sshd[42]:) are cut off,
and so are columns that hold a variable on every line.

Examples:
  opspilot analyze log-templates --input app.log --output groups.csv
  opspilot analyze log-templates -i HDFS_2k.log --format '<Date> <Time> <Pid> <Level> <Component>: <Content>'`,
    )
    .action(async (options: { input: string; output?: string; format?: string }) => {
      try {
        await groupLogTemplates(options, context);
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

async function scoreAnomalies(input: string, output: string | undefined, context: CliContext): Promise<void> {
  const lines = readLines(input);
  const sink = openOutput(output, context);
  try {
    const detector = new StreamingAnomalyDetector();
    let columns: { timestamp: number; value: number } | undefined;
    let lineNumber = 0;
    let rows = 0;
    for await (const line of lines) {
      lineNumber += 1;
      if (line.trim() === '') continue;
      const fields = parseRow(line, lineNumber, input);
      if (columns === undefined) {
        const names = fields.map((name) => name.trim().toLowerCase());
        const timestamp = names.indexOf('timestamp');
        const value = names.indexOf('value');
        if (timestamp < 0 || value < 0) {
          throw new InvalidError(
            `${input}:${lineNumber}: the header must name the columns timestamp and value`,
            [],
            {
              hint: `Found: ${fields.join(',')}. Add a first line "timestamp,value".`,
            },
          );
        }
        columns = { timestamp, value };
        await sink.write(`${csvRow(['timestamp', 'value', 'anomaly_score'])}\n`);
        continue;
      }
      const stamp = (fields[columns.timestamp] ?? '').trim();
      const text = (fields[columns.value] ?? '').trim();
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) {
        throw new InvalidError(
          `${input}:${lineNumber}: value ${JSON.stringify(text)} is not a finite number`,
          [],
          {
            hint: 'Every row needs a numeric value; drop or fill rows without one.',
          },
        );
      }
      const time = parseTimestamp(stamp);
      if (time === undefined) {
        throw new InvalidError(
          `${input}:${lineNumber}: timestamp ${JSON.stringify(stamp)} is not a time`,
          [],
          {
            hint: 'Use ISO 8601 (2026-11-21T10:00:00Z) or epoch seconds or milliseconds.',
          },
        );
      }
      const score = detector.update(value, time);
      await sink.write(`${csvRow([stamp, text, score])}\n`);
      rows += 1;
    }
    if (columns === undefined) {
      throw new InvalidError(`${input} is empty`, [], {
        hint: 'Give a header "timestamp,value" and one row per point.',
      });
    }
    await sink.commit();
    context.err(`scored ${rows} points${output === undefined || output === '-' ? '' : ` → ${output}`}\n`);
  } catch (error) {
    sink.abort();
    throw error;
  }
}

async function groupLogTemplates(
  options: { input: string; output?: string; format?: string },
  context: CliContext,
): Promise<void> {
  let format: LogFormat | undefined;
  if (options.format !== undefined) {
    try {
      format = parseLogFormat(options.format);
    } catch (error) {
      throw new InvalidError(`--format ${JSON.stringify(options.format)}: ${(error as Error).message}`, [], {
        hint: "Name fields in angle brackets and include <Content>, e.g. '<Date> <Time> <Level>: <Content>'.",
      });
    }
  }
  const lines: string[] = [];
  for await (const line of readLines(options.input)) lines.push(line);
  // Without a format the header is guessed from the whole log: its columns show across lines.
  const contents = format === undefined ? guessContents(lines) : lines.map((line) => contentOf(line, format));
  const unmatched =
    format === undefined ? 0 : lines.filter((line) => !format.pattern.test(line.trim())).length;
  const { groups, templates } = groupMessages(contents);
  const sink = openOutput(options.output, context);
  try {
    await sink.write(`${csvRow(['LineId', 'EventId', 'EventTemplate'])}\n`);
    for (let index = 0; index < groups.length; index += 1) {
      const group = groups[index] ?? 0;
      await sink.write(`${csvRow([index + 1, `E${group + 1}`, templates[group] ?? ''])}\n`);
    }
    await sink.commit();
  } catch (error) {
    sink.abort();
    throw error;
  }
  const target = options.output === undefined || options.output === '-' ? '' : ` → ${options.output}`;
  context.err(`${groups.length} lines, ${templates.length} templates${target}\n`);
  if (unmatched > 0) {
    context.err(`${unmatched} lines did not fit --format; their whole text was used as the message\n`);
  }
}

function parseRow(line: string, lineNumber: number, input: string): string[] {
  try {
    return parseCsvLine(line);
  } catch (error) {
    throw new InvalidError(`${input}:${lineNumber}: ${(error as Error).message}`);
  }
}

/** Epoch milliseconds of an ISO 8601 time (UTC when no zone is given) or of epoch seconds/milliseconds. */
export function parseTimestamp(text: string): number | undefined {
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    // Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by size (any date 1973–5138).
    const number = Number(text);
    const size = Math.abs(number);
    if (size < 1e11) return number * 1000;
    if (size < 1e14) return number;
    if (size < 1e17) return number / 1000;
    return number / 1e6;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const iso = text.replace(' ', 'T');
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(iso) || !iso.includes('T') ? iso : `${iso}Z`;
  const time = Date.parse(zoned);
  return Number.isNaN(time) ? undefined : time;
}

/** Lines of a file or of stdin ('-'), without line terminators. */
function readLines(input: string): AsyncIterable<string> {
  const stream = input === '-' ? process.stdin : createReadStream(input);
  stream.on('error', () => undefined); // surfaced by the iterator below
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const line of lines) yield line;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new InvalidError(`${input}: no such file`);
        if (code === 'EISDIR') throw new InvalidError(`${input} is a directory, not a file`);
        throw error;
      }
    },
  };
}

interface Output {
  write(text: string): Promise<void>;
  /** Makes the output visible: a file is written next to its target and renamed over it only when complete. */
  commit(): Promise<void>;
  abort(): void;
}

function openOutput(output: string | undefined, context: CliContext): Output {
  if (output === undefined || output === '-') {
    let pending = '';
    return {
      write: (text) => {
        pending += text;
        if (pending.length >= 64 * 1024) {
          context.out(pending);
          pending = '';
        }
        return Promise.resolve();
      },
      commit: () => {
        context.out(pending);
        pending = '';
        return Promise.resolve();
      },
      abort: () => undefined,
    };
  }
  if (!existsSync(dirname(output))) {
    throw new InvalidError(`cannot write ${output}: the folder ${dirname(output)} does not exist`);
  }
  const partial = join(dirname(output), `.${basename(output)}.partial-${process.pid}`);
  let stream: WriteStream | undefined;
  let failure: unknown;
  const open = (): WriteStream => {
    if (stream === undefined) {
      stream = createWriteStream(partial);
      stream.on('error', (error) => {
        failure = error;
      });
    }
    return stream;
  };
  let buffer = '';
  const flush = async (): Promise<void> => {
    const target = open();
    if (failure !== undefined) throw failure as Error;
    // `once` rejects when the stream fails while we wait (a full disk, a closed pipe).
    if (buffer !== '' && !target.write(buffer)) await once(target, 'drain');
    buffer = '';
  };
  return {
    write: async (text) => {
      buffer += text;
      if (buffer.length >= 64 * 1024) await flush();
    },
    commit: async () => {
      await flush();
      const target = open();
      target.end();
      await finished(target);
      if (failure !== undefined) throw failure as Error;
      renameSync(partial, output);
    },
    abort: () => {
      stream?.destroy();
      rmSync(partial, { force: true });
    },
  };
}
