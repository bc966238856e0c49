// `opspilot analyze` as users run it: the built CLI on files, no server.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsvLine } from '../../src/core/csv.js';
import { runCli } from '../helpers/opspilot-process.js';

let workspace: string;

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-analyze-'));
});

afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
});

function rowsOf(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map(parseCsvLine);
}

/** A five-minute series with a daily cycle, a little deterministic noise and one spike. */
function seriesCsv(points: number, spikeAt: number): string {
  const lines = ['timestamp,value'];
  for (let index = 0; index < points; index += 1) {
    const time = new Date(Date.UTC(2026, 10, 1) + index * 300_000)
      .toISOString()
      .replace('T', ' ')
      .slice(0, 19);
    const base = 50 + 20 * Math.sin((2 * Math.PI * index) / 288) + ((index * 7919) % 13) / 10;
    lines.push(`${time},${(index === spikeAt ? base + 60 : base).toFixed(3)}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('opspilot analyze anomalies', () => {
  it('writes timestamp,value,anomaly_score for every row, with the spike scored highest', async () => {
    const input = join(workspace, 'series.csv');
    const output = join(workspace, 'scores.csv');
    writeFileSync(input, seriesCsv(1200, 1000));
    const result = await runCli(['analyze', 'anomalies', '--input', input, '--output', output]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('scored 1200 points');

    const [header, ...rows] = rowsOf(readFileSync(output, 'utf8'));
    expect(header).toEqual(['timestamp', 'value', 'anomaly_score']);
    const inputRows = rowsOf(readFileSync(input, 'utf8')).slice(1);
    expect(rows.map((row) => [row[0], row[1]])).toEqual(inputRows);
    const scores = rows.map((row) => Number(row[2]));
    expect(scores.every((score) => score >= 0 && score <= 1)).toBe(true);
    // After the first day (the detector has not seen the whole cycle before), the spike stands out.
    const settled = scores.slice(288);
    expect(settled.indexOf(Math.max(...settled)) + 288).toBe(1000);
    expect(scores[1000]).toBeGreaterThan(0.5);
  });

  it('is causal: the scores of a prefix are the first scores of the whole', async () => {
    const whole = join(workspace, 'whole.csv');
    const prefix = join(workspace, 'prefix.csv');
    const text = seriesCsv(900, 850);
    writeFileSync(whole, text);
    writeFileSync(prefix, `${text.split('\n').slice(0, 601).join('\n')}\n`);
    const all = await runCli(['analyze', 'anomalies', '-i', whole]);
    const part = await runCli(['analyze', 'anomalies', '-i', prefix]);
    expect(all.code).toBe(0);
    expect(part.code).toBe(0);
    const allRows = rowsOf(all.stdout);
    const partRows = rowsOf(part.stdout);
    expect(partRows).toHaveLength(601);
    expect(allRows.slice(0, 601)).toEqual(partRows);
  });

  it('reads epoch seconds, milliseconds, microseconds and nanoseconds alike', async () => {
    const second = 1_700_000_000;
    const rows = (scale: number): string => {
      const lines = ['timestamp,value'];
      for (let index = 0; index < 2000; index += 1) {
        // A daily square wave, and a high stretch at a time of day that is usually low: only the comparison
        // with earlier days (which needs the sampling interval, hence the timestamps) sees it.
        const high = index % 288 >= 144 || (index >= 1500 && index < 1510);
        lines.push(`${String(BigInt(second + index * 300) * BigInt(scale))},${high ? 9 : 5}`);
      }
      return `${lines.join('\n')}\n`;
    };
    const scores = await Promise.all(
      [1, 1000, 1_000_000, 1_000_000_000].map(async (scale) => {
        const result = await runCli(['analyze', 'anomalies', '-i', '-'], { input: rows(scale) });
        expect(result.code, result.stderr).toBe(0);
        return rowsOf(result.stdout).map((row) => row[2]);
      }),
    );
    expect(Math.max(...(scores[0] ?? []).slice(1500, 1510).map(Number))).toBeGreaterThan(0.5);
    expect(scores[1]).toEqual(scores[0]);
    expect(scores[2]).toEqual(scores[0]);
    expect(scores[3]).toEqual(scores[0]);
  });

  it('reads stdin, epoch timestamps and extra columns', async () => {
    const lines = ['host,timestamp,value'];
    for (let index = 0; index < 300; index += 1)
      lines.push(`web-1,${1_700_000_000 + index * 60},${index % 5}`);
    const result = await runCli(['analyze', 'anomalies', '--input', '-'], { input: `${lines.join('\n')}\n` });
    expect(result.code, result.stderr).toBe(0);
    const rows = rowsOf(result.stdout);
    expect(rows).toHaveLength(301);
    expect(rows[1]).toEqual(['1700000000', '0', '0']);
  });

  it('names the line and the problem of bad input, and leaves no partial output', async () => {
    const input = join(workspace, 'bad.csv');
    const output = join(workspace, 'bad-scores.csv');
    writeFileSync(input, 'timestamp,value\n2026-11-01 00:00:00,1\n2026-11-01 00:05:00,lots\n');
    const bad = await runCli(['analyze', 'anomalies', '-i', input, '-o', output]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${input}:3: value "lots" is not a finite number`);
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(workspace).some((name) => name.includes('.partial-'))).toBe(false);

    writeFileSync(input, 'time,price\n1,2\n');
    const header = await runCli(['analyze', 'anomalies', '-i', input]);
    expect(header.code).toBe(2);
    expect(header.stderr).toContain('the header must name the columns timestamp and value');

    writeFileSync(input, 'timestamp,value\nyesterday,2\n');
    const time = await runCli(['analyze', 'anomalies', '-i', input]);
    expect(time.code).toBe(2);
    expect(time.stderr).toContain('timestamp "yesterday" is not a time');

    const missing = await runCli(['analyze', 'anomalies', '-i', join(workspace, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });
});

describe('opspilot analyze log-templates', () => {
  const log = [
    '2026-11-21 10:00:01 INFO  Worker: Received block blk_1073741825 of size 67108864 from /10.0.0.12',
    '2026-11-21 10:00:02 INFO  Worker: Received block blk_1073741826 of size 512 from /10.0.0.13',
    '2026-11-21 10:00:03 WARN  Worker: Slow ack from peer "node-b", retrying',
    'garbage without a header',
    '',
    '2026-11-21 10:00:04 INFO  Worker: Received block blk_1073741827 of size 9 from /10.0.0.14',
    '2026-11-21 10:00:05 WARN  Worker: Slow ack from peer "node-c", retrying',
  ];

  it('writes one row per line with LineId from 1 and the same EventId for lines of one template', async () => {
    const input = join(workspace, 'app.log');
    const output = join(workspace, 'groups.csv');
    writeFileSync(input, `${log.join('\n')}\n`);
    const result = await runCli([
      'analyze',
      'log-templates',
      '--input',
      input,
      '--format',
      '<Date> <Time> <Level> <Component>: <Content>',
      '--output',
      output,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('2 lines did not fit --format');
    const [header, ...rows] = rowsOf(readFileSync(output, 'utf8'));
    expect(header).toEqual(['LineId', 'EventId', 'EventTemplate']);
    expect(rows.map((row) => row[0])).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(rows.map((row) => row[1])).toEqual(['E1', 'E1', 'E2', 'E3', 'E4', 'E1', 'E2']);
    expect(rows[0]?.[2]).toBe('Received block <*> of size <*> from <*>');
    // The template holds a comma and quotes: CSV quoting must carry them through.
    expect(rows[2]?.[2]).toBe('Slow ack from peer <*> retrying');
    expect(readFileSync(output, 'utf8')).toContain('3,E2,Slow ack from peer <*> retrying');
  });

  it('uses the whole line without --format and reads stdin', async () => {
    const input = 'disk /dev/sda1 at 91%\ndisk /dev/sdb1 at 97%\nuser "a,b" logged in\n';
    const result = await runCli(['analyze', 'log-templates', '-i', '-'], { input });
    expect(result.code, result.stderr).toBe(0);
    const rows = rowsOf(result.stdout);
    expect(rows).toEqual([
      ['LineId', 'EventId', 'EventTemplate'],
      ['1', 'E1', 'disk <*> at <*>'],
      ['2', 'E1', 'disk <*> at <*>'],
      ['3', 'E2', 'user <*> logged in'], // a quoted value is a value
    ]);
  });

  it('reports a failed write and exits 1 instead of hanging', async () => {
    const input = join(workspace, 'big.log');
    const blocker = join(workspace, 'not-a-folder');
    writeFileSync(blocker, 'a file where a folder should be\n');
    writeFileSync(
      input,
      `${Array.from({ length: 4000 }, (_, index) => `request ${index} served in ${index % 97} ms by worker-${index % 7}`).join('\n')}\n`,
    );
    const result = await runCli(['analyze', 'log-templates', '-i', input, '-o', join(blocker, 'groups.csv')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ENOTDIR/);
  });

  it('refuses a format without <Content>', async () => {
    const input = join(workspace, 'x.log');
    writeFileSync(input, 'a\n');
    const result = await runCli(['analyze', 'log-templates', '-i', input, '--format', '<Date> <Time>']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the format has no <Content> field');
  });
});
