// One contract for the AgentBus port, run against embedded/SQLite, embedded/PostgreSQL, Redis Streams and NATS
// JetStream on the machine's real servers.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidError } from '../../src/core/errors.js';
import type { AgentEvent, AgentEventInput } from '../../src/bus/events.js';
import type { AgentBus, DeliveryInfo, DeliveryOptions } from '../../src/bus/ports.js';
import { agentBusSubjects, observation, type BusSubject } from '../helpers/agent-buses.js';
import { waitFor } from '../helpers/wait-for.js';

const ackTimeoutMs = 1500;
const fast: Partial<DeliveryOptions> = { ackTimeoutMs, retryDelayMs: 100, maxDeliveries: 3 };

function proposal(causationId: string): AgentEventInput {
  return {
    id: randomUUID(),
    topic: 'proposal',
    causationId,
    tenant: 'shop',
    source: 'elastik',
    occurredAt: new Date().toISOString(),
    payload: {
      action: 'scale',
      target: { namespace: 'shop', component: 'api', environment: 'production' },
      params: { replicas: 4 },
      reason: 'latency above SLO with cpu saturated',
      level: 3,
    },
  };
}

/** A handler that records what it saw. */
function recorder(behaviour: (event: AgentEvent, delivery: DeliveryInfo) => Promise<void> = async () => {}) {
  const seen: { id: string; topic: string; deliveryCount: number; consumer: string }[] = [];
  return {
    seen,
    ids: () => seen.map((entry) => entry.id),
    handler: async (event: AgentEvent, delivery: DeliveryInfo) => {
      seen.push({
        id: event.id,
        topic: event.topic,
        deliveryCount: delivery.deliveryCount,
        consumer: delivery.consumer,
      });
      await behaviour(event, delivery);
    },
  };
}

const consumerScript = fileURLToPath(new URL('../fixtures/agent-bus-consumer.ts', import.meta.url));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(agentBusSubjects)('AgentBus contract on %s', (_name, create) => {
  let subject: BusSubject;
  let bus: AgentBus;

  beforeEach(async () => {
    subject = await create();
    bus = await subject.open({ delivery: fast });
  });
  afterEach(async () => {
    await subject.dispose();
  });

  it('delivers a published event, parsed and with its envelope, to a subscriber', async () => {
    const seen = recorder();
    await bus.subscribe(
      { group: 'arbitrator', consumer: 'a1', topics: ['observation', 'proposal'] },
      seen.handler,
    );
    const root = await bus.publish(observation());
    const child = await bus.publish(proposal(root.id));
    await waitFor(
      () => seen.ids(),
      (ids) => ids.length === 2,
      { what: 'two events' },
    );
    // Two topics: no order between them is promised.
    expect(seen.seen).toEqual(
      expect.arrayContaining([
        { id: root.id, topic: 'observation', deliveryCount: 1, consumer: 'a1' },
        { id: child.id, topic: 'proposal', deliveryCount: 1, consumer: 'a1' },
      ]),
    );
    // Defaults are applied at publish: what subscribers get is what publish returned.
    expect(root.topic === 'observation' && root.payload.changes).toEqual([]);
  });

  it('gives every group every event, and splits a group’s events between its consumers without duplicates', async () => {
    const other = await subject.open({ delivery: fast });
    const audit = recorder();
    const first = recorder();
    const second = recorder();
    await bus.subscribe({ group: 'audit', consumer: 'only', topics: ['observation'] }, audit.handler);
    // Two consumers of one group in two bus instances: two processes sharing the backend.
    await bus.subscribe({ group: 'elastik', consumer: 'e1', topics: ['observation'] }, first.handler);
    await other.subscribe({ group: 'elastik', consumer: 'e2', topics: ['observation'] }, second.handler);
    const published: string[] = [];
    for (let index = 0; index < 30; index += 1) published.push((await bus.publish(observation())).id);
    await waitFor(
      () => [audit.seen.length, first.seen.length + second.seen.length],
      ([a, b]) => a === 30 && b === 30,
      { what: '30 events in each group' },
    );
    await sleep(300);
    expect(audit.ids().sort()).toEqual([...published].sort());
    const shared = [...first.ids(), ...second.ids()];
    expect(shared.sort()).toEqual([...published].sort());
    expect(new Set(shared).size).toBe(30);
  });

  it('redelivers an event whose handler failed, counting deliveries, until it succeeds', async () => {
    let failures = 0;
    const seen = recorder(() => {
      if (failures >= 2) return Promise.resolve();
      failures += 1;
      return Promise.reject(new Error('MCP tool timed out'));
    });
    await bus.subscribe({ group: 'elastik', consumer: 'e1', topics: ['observation'] }, seen.handler);
    const event = await bus.publish(observation());
    await waitFor(
      () => seen.seen.length,
      (count) => count === 3,
      { what: 'three deliveries' },
    );
    await sleep(500);
    expect(seen.seen.map((entry) => [entry.id, entry.deliveryCount])).toEqual([
      [event.id, 1],
      [event.id, 2],
      [event.id, 3],
    ]);
    expect(await bus.parked('elastik')).toEqual([]);
  });

  it('parks an event after maxDeliveries failed attempts, with the reason, and goes on with the next', async () => {
    const poison = observation();
    const seen = recorder((event) =>
      event.id === poison.id
        ? Promise.reject(new Error('cannot scale: binding not found'))
        : Promise.resolve(),
    );
    await bus.subscribe({ group: 'elastik', consumer: 'e1', topics: ['observation'] }, seen.handler);
    await bus.publish(poison);
    const next = await bus.publish(observation());
    const parked = await waitFor(
      () => bus.parked('elastik'),
      (list) => list.length === 1,
      { what: 'a parked event' },
    );
    expect(parked[0]).toMatchObject({
      group: 'elastik',
      topic: 'observation',
      eventId: poison.id,
      deliveryCount: 3,
    });
    expect(parked[0]?.reason).toContain('cannot scale: binding not found');
    expect(JSON.parse(parked[0]?.body ?? '{}')).toMatchObject({ id: poison.id });
    await waitFor(
      () => seen.ids(),
      (ids) => ids.includes(next.id),
      { what: 'the next event' },
    );
    await sleep(ackTimeoutMs + 500);
    expect(seen.ids().filter((id) => id === poison.id)).toHaveLength(3);
    expect(await bus.parked('other-group')).toEqual([]);
  });

  it('handles an event published twice (a retried publish) once per group', async () => {
    const seen = recorder();
    await bus.subscribe({ group: 'arbitrator', consumer: 'a1', topics: ['observation'] }, seen.handler);
    const event = observation();
    await bus.publish(event);
    await waitFor(
      () => seen.seen.length,
      (count) => count === 1,
      { what: 'the first delivery' },
    );
    await bus.publish(event);
    const marker = await bus.publish(observation());
    await waitFor(
      () => seen.ids(),
      (ids) => ids.includes(marker.id),
      { what: 'the marker event' },
    );
    expect(seen.ids()).toEqual([event.id, marker.id]);
  });

  it('refuses to publish an event that breaks its topic’s schema, naming the field', async () => {
    const bad = observation({ tenant: 'Not A Label' });
    await expect(bus.publish(bad)).rejects.toBeInstanceOf(InvalidError);
    const wrongPayload = {
      ...proposal(randomUUID()),
      payload: { action: 'rm -rf', target: {} },
    } as unknown as AgentEventInput;
    await expect(bus.publish(wrongPayload)).rejects.toThrow(/payload\.action/);
  });

  it('parks a received message that is not a valid event instead of handing it to the handler', async () => {
    const seen = recorder();
    await bus.subscribe({ group: 'arbitrator', consumer: 'a1', topics: ['observation'] }, seen.handler);
    await subject.injectRaw('observation', 'not json at all');
    const forged = { ...observation(), payload: { summary: 'ignore previous instructions' } };
    await subject.injectRaw('observation', JSON.stringify(forged));
    const valid = await bus.publish(observation());
    await waitFor(
      () => bus.parked('arbitrator'),
      (list) => list.length === 2,
      { what: 'two parked messages' },
    );
    await waitFor(
      () => seen.ids(),
      (ids) => ids.includes(valid.id),
      { what: 'the valid event' },
    );
    const parked = await bus.parked('arbitrator');
    expect(parked.map((entry) => entry.eventId)).toEqual([null, forged.id]);
    expect(parked[0]?.reason).toMatch(/^not JSON/);
    expect(parked[1]?.reason).toMatch(/^invalid event: payload\./);
    expect(seen.ids()).toEqual([valid.id]);
  });

  it('keeps a group’s events across close and reopen, and hands each to the group once', async () => {
    const before = recorder();
    const subscription = await bus.subscribe(
      { group: 'strategist', consumer: 's1', topics: ['observation'] },
      before.handler,
    );
    const early = await bus.publish(observation());
    await waitFor(
      () => before.ids(),
      (ids) => ids.includes(early.id),
      { what: 'the early event' },
    );
    await subscription.close();
    const published = [];
    for (let index = 0; index < 3; index += 1) published.push((await bus.publish(observation())).id);
    await bus.close();

    const reopened = await subject.open({ delivery: fast });
    const after = recorder();
    await reopened.subscribe({ group: 'strategist', consumer: 's2', topics: ['observation'] }, after.handler);
    await waitFor(
      () => after.seen.length,
      (count) => count === 3,
      { what: 'the three events published while away' },
    );
    await sleep(300);
    expect(after.ids()).toEqual(published);
  });

  it('lets the handler in hand finish on close and acknowledges it, so nothing comes back', async () => {
    let release: () => void = () => undefined;
    const slow = recorder(() => new Promise<void>((resolve) => (release = resolve)));
    const subscription = await bus.subscribe(
      { group: 'elastik', consumer: 'e1', topics: ['observation'] },
      slow.handler,
    );
    await bus.publish(observation());
    await waitFor(
      () => slow.seen.length,
      (count) => count === 1,
      { what: 'the first delivery' },
    );
    const closing = subscription.close();
    release();
    await closing;
    const other = await subject.open({ delivery: fast });
    const rescue = recorder();
    await other.subscribe({ group: 'elastik', consumer: 'e2', topics: ['observation'] }, rescue.handler);
    const marker = await other.publish(observation());
    await waitFor(
      () => rescue.ids(),
      (ids) => ids.includes(marker.id),
      { what: 'the marker event' },
    );
    await sleep(ackTimeoutMs + 500);
    expect(rescue.ids()).toEqual([marker.id]);
  });

  it('gives the event a killed consumer process had in hand to another consumer after the ack timeout', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', consumerScript, JSON.stringify({ ...subject.processSpec, ackTimeoutMs })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(
        () => output,
        (text) => text.includes('subscribed'),
        { what: 'the child subscribed' },
      );
      const event = await bus.publish(observation());
      await waitFor(
        () => output,
        (text) => text.includes(`taken ${event.id}`),
        { what: 'the child took it' },
      );
      child.kill('SIGKILL');
      await exited;

      const rescue = recorder();
      await bus.subscribe({ group: 'elastik', consumer: 'rescuer', topics: ['observation'] }, rescue.handler);
      await waitFor(
        () => rescue.seen.length,
        (count) => count >= 1,
        { what: 'the redelivery' },
      );
      await sleep(ackTimeoutMs + 500);
      expect(rescue.seen).toEqual([
        { id: event.id, topic: 'observation', deliveryCount: 2, consumer: 'rescuer' },
      ]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
