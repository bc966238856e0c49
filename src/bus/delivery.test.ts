import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DeliveryRunner,
  Wakeup,
  checkSubscribeOptions,
  parseEvent,
  type ReceivedMessage,
} from './delivery.js';
import type { AgentEvent } from './events.js';
import { defaultDeliveryOptions, type AgentEventHandler } from './ports.js';

function event(): AgentEvent {
  return {
    id: randomUUID(),
    topic: 'agents.pause',
    causationId: null,
    tenant: 'shop',
    source: 'opspilot',
    occurredAt: '2026-12-06T22:00:00.000Z',
    payload: { paused: true, reason: 'on-call asked', by: 'alice' },
  };
}

/** A message that records what the runner did with it; `complete` may fail a number of times first. */
function message(body: string, deliveryCount = 1, completeFailures = 0) {
  const calls: string[] = [];
  let failures = completeFailures;
  const received: ReceivedMessage = {
    body,
    deliveryCount,
    complete: (eventId) => {
      if (failures > 0) {
        failures -= 1;
        calls.push('complete failed');
        return Promise.reject(new Error('connection is closed'));
      }
      calls.push(`complete ${eventId}`);
      return Promise.resolve();
    },
    retry: (delayMs) => {
      calls.push(`retry ${delayMs}`);
      return Promise.resolve();
    },
    park: (eventId, reason) => {
      calls.push(`park ${eventId ?? 'null'}: ${reason}`);
      return Promise.resolve();
    },
    extend: () => Promise.resolve(),
  };
  return { received, calls };
}

function runner(handler: AgentEventHandler, handled: ReadonlySet<string> = new Set()) {
  return new DeliveryRunner({
    group: 'elastik',
    consumer: 'e1',
    topics: ['agents.pause'],
    handler,
    ledger: { has: (_group, id) => Promise.resolve(handled.has(id)) },
    options: { ...defaultDeliveryOptions, maxDeliveries: 3, retryDelayMs: 250 },
    report: () => undefined,
    signal: new AbortController().signal,
  });
}

describe('DeliveryRunner', () => {
  it('runs the handler once and completes a valid event', async () => {
    const pause = event();
    const seen: number[] = [];
    const { received, calls } = message(JSON.stringify(pause));
    const outcome = await runner((_event, delivery) => {
      seen.push(delivery.deliveryCount);
      return Promise.resolve();
    }).handle(received);
    expect(outcome).toBe('handled');
    expect(seen).toEqual([1]);
    expect(calls).toEqual([`complete ${pause.id}`]);
  });

  it('acknowledges an event the group already handled without running the handler', async () => {
    const pause = event();
    let runs = 0;
    const { received, calls } = message(JSON.stringify(pause), 2);
    const outcome = await runner(
      () => {
        runs += 1;
        return Promise.resolve();
      },
      new Set([pause.id]),
    ).handle(received);
    expect(outcome).toBe('duplicate');
    expect(runs).toBe(0);
    expect(calls).toEqual([`complete ${pause.id}`]);
  });

  it('retries a failed handler below maxDeliveries and parks it on the last attempt', async () => {
    const pause = event();
    const failing = runner(() => Promise.reject(new Error('tool call refused')));
    const early = message(JSON.stringify(pause), 2);
    expect(await failing.handle(early.received)).toBe('retry');
    expect(early.calls).toEqual(['retry 250']);
    const last = message(JSON.stringify(pause), 3);
    expect(await failing.handle(last.received)).toBe('parked');
    expect(last.calls).toEqual([`park ${pause.id}: handler failed on delivery 3 of 3: tool call refused`]);
  });

  it('parks without running the handler an event delivered more than maxDeliveries times', async () => {
    const pause = event();
    let runs = 0;
    const { received, calls } = message(JSON.stringify(pause), 4);
    const outcome = await runner(() => {
      runs += 1;
      return Promise.resolve();
    }).handle(received);
    expect(outcome).toBe('parked');
    expect(runs).toBe(0);
    expect(calls[0]).toMatch(/delivered 4 times without an acknowledgement/);
  });

  it('keeps completing through failures, and skips the handler if the same event comes again meanwhile', async () => {
    const pause = event();
    let runs = 0;
    const subject = runner(() => {
      runs += 1;
      return Promise.resolve();
    });
    const first = message(JSON.stringify(pause), 1, 2);
    expect(await subject.handle(first.received)).toBe('handled');
    expect(first.calls).toEqual(['complete failed', 'complete failed', `complete ${pause.id}`]);
    // The ledger (empty here) did not see it, but this process remembers it acted.
    const again = message(JSON.stringify(pause), 2);
    expect(await subject.handle(again.received)).toBe('duplicate');
    expect(runs).toBe(1);
  });

  it('parks what is not an event, or is one of a topic the group did not subscribe to', async () => {
    const subject = runner(() => Promise.reject(new Error('must not run')));
    const garbage = message('{"id": 1');
    expect(await subject.handle(garbage.received)).toBe('parked');
    expect(garbage.calls[0]).toMatch(/^park null: not JSON/);
    const other = { ...event(), topic: 'verification' };
    const wrong = message(JSON.stringify(other));
    expect(await subject.handle(wrong.received)).toBe('parked');
    expect(wrong.calls[0]).toMatch(new RegExp(`^park ${other.id}: invalid event: payload`));
  });
});

describe('parseEvent', () => {
  it('names the first bad fields of an invalid event and keeps a plausible id', () => {
    const bad = { ...event(), tenant: 'UPPER', payload: { paused: 'yes' } };
    const parsed = parseEvent(JSON.stringify(bad));
    expect(parsed).toMatchObject({ ok: false, eventId: bad.id });
    expect(!parsed.ok && parsed.reason).toMatch(/tenant: .*lowercase DNS label/);
    expect(!parsed.ok && parsed.reason).toMatch(/payload\.paused/);
  });
});

describe('checkSubscribeOptions', () => {
  it('refuses names that cannot be keys or subjects, unknown topics and an empty list', () => {
    expect(() => checkSubscribeOptions({ group: 'a.b', consumer: 'c', topics: ['observation'] })).toThrow(
      /group/,
    );
    expect(() => checkSubscribeOptions({ group: 'a', consumer: 'c d', topics: ['observation'] })).toThrow(
      /consumer/,
    );
    expect(() =>
      checkSubscribeOptions({ group: 'a', consumer: 'c', topics: ['gossip' as 'observation'] }),
    ).toThrow(/unknown topic gossip/);
    expect(() => checkSubscribeOptions({ group: 'a', consumer: 'c', topics: [] })).toThrow(/at least one/);
    expect(
      checkSubscribeOptions({
        group: 'a',
        consumer: 'c',
        topics: ['observation', 'observation', 'proposal'],
      }),
    ).toEqual(['observation', 'proposal']);
  });
});

describe('Wakeup', () => {
  const settledAfterWake = async (wakeup: Wakeup, wakeFirst: boolean): Promise<boolean> => {
    const signal = new AbortController().signal;
    if (wakeFirst) wakeup.wake();
    let settled = false;
    void wakeup.wait(60_000, signal).then(() => {
      settled = true;
    });
    if (!wakeFirst) wakeup.wake();
    // Let the pending promise callbacks run; a 60 s sleep would still be pending.
    await new Promise((resolve) => setImmediate(resolve));
    return settled;
  };

  it('ends a wait when woken', async () => {
    expect(await settledAfterWake(new Wakeup(), false)).toBe(true);
  });

  it('keeps a wake-up that came while nobody waited for the next wait', async () => {
    expect(await settledAfterWake(new Wakeup(), true)).toBe(true);
  });

  it('does not end a wait nobody woke', async () => {
    const wakeup = new Wakeup();
    const controller = new AbortController();
    let settled = false;
    const waiting = wakeup.wait(60_000, controller.signal).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    controller.abort();
    await waiting;
  });
});
