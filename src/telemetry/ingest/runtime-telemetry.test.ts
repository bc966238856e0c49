import { describe, expect, it } from 'vitest';
import { parseLine } from './runtime-telemetry.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('parseLine', () => {
  it('reads pino JSON lines: level, message, trace and span ids, other fields as attributes', () => {
    const parsed = parseLine(
      JSON.stringify({
        level: 50,
        time: Date.now(),
        msg: 'payment failed',
        trace_id: traceId,
        span_id: '00f067aa0ba902b7',
        order: 7,
      }),
      'stdout',
    );
    expect(parsed).toMatchObject({
      body: 'payment failed',
      severityNumber: 17,
      severityText: 'ERROR',
      traceId,
      spanId: '00f067aa0ba902b7',
      attributes: { order: 7 },
    });
    expect(parsed.timeUs).toBeGreaterThan(0);
  });

  it('reads level names and camel-case ids (winston, OpenTelemetry-style)', () => {
    expect(parseLine(JSON.stringify({ level: 'warn', message: 'slow', traceId }), 'stdout')).toMatchObject({
      severityText: 'WARN',
      body: 'slow',
      traceId,
    });
  });

  it('reads plain lines: a level word near the start and trace_id=…', () => {
    expect(parseLine(`2026-01-01 ERROR cannot reach db trace_id=${traceId}`, 'stdout')).toMatchObject({
      severityText: 'ERROR',
      traceId,
    });
    expect(parseLine('listening on 8080', 'stdout')).toMatchObject({ severityText: 'INFO', traceId: '' });
    expect(parseLine('something odd', 'stderr')).toMatchObject({ severityText: 'WARN' });
    expect(parseLine('{not json}', 'stdout')).toMatchObject({ body: '{not json}', severityText: 'INFO' });
  });

  it('ignores times far from now (seconds instead of milliseconds, bad clocks)', () => {
    expect(parseLine(JSON.stringify({ msg: 'x', time: 1_700_000_000 }), 'stdout').timeUs).toBeUndefined();
  });
});
