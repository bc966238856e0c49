// The agent bus per adapter (embedded/SQLite, embedded/PostgreSQL, Redis Streams, NATS JetStream on this
// machine's servers): EVENTS events published one after another while one consumer of one group handles them.
// Per run: publish latency (until durable); under load (publishing as fast as it can, so a backlog builds)
// publish → handler latency and events handled per second; idle (IDLE_EVENTS events, each published after the
// previous one was handled) publish → handler latency. Consumer and publisher share one process, so the embedded
// bus is woken by the publish; a consumer in another process would add up to its 250 ms poll interval. RUNS (default 3) runs per adapter, each on a fresh backend; medians over runs. Prints JSON.
import { performance } from 'node:perf_hooks';
import { agentBusSubjects, observation } from '../test/helpers/agent-buses.js';
import { machine, median, percentile, print, round } from './lib/harness.js';

const runs = Number(process.env.RUNS ?? 3);
const events = Number(process.env.EVENTS ?? 500);
const idleEvents = Number(process.env.IDLE_EVENTS ?? 50);

interface RunResult {
  publishP50Ms: number;
  publishP99Ms: number;
  endToEndP50Ms: number;
  endToEndP99Ms: number;
  handledPerSecond: number;
  idleEndToEndP50Ms: number;
  idleEndToEndP99Ms: number;
}

async function runOnce(create: (typeof agentBusSubjects)[number][1]): Promise<RunResult> {
  const subject = await create();
  try {
    const bus = await subject.open();
    const publishedAt = new Map<string, number>();
    const endToEnd: number[] = [];
    let handled = 0;
    let target = events;
    let allHandled: () => void = () => undefined;
    let done = new Promise<void>((resolve) => (allHandled = resolve));
    await bus.subscribe({ group: 'bench', consumer: 'c1', topics: ['observation'] }, (event) => {
      const started = publishedAt.get(event.id);
      if (started !== undefined) endToEnd.push(performance.now() - started);
      handled += 1;
      if (handled === target) allHandled();
      return Promise.resolve();
    });
    const publish: number[] = [];
    const start = performance.now();
    for (let index = 0; index < events; index += 1) {
      const event = observation();
      const before = performance.now();
      publishedAt.set(event.id, before);
      await bus.publish(event);
      publish.push(performance.now() - before);
    }
    await done;
    const seconds = (performance.now() - start) / 1000;
    const loaded = [...endToEnd];
    endToEnd.length = 0;
    for (let index = 0; index < idleEvents; index += 1) {
      target = handled + 1;
      done = new Promise<void>((resolve) => (allHandled = resolve));
      const event = observation();
      publishedAt.set(event.id, performance.now());
      await bus.publish(event);
      await done;
    }
    return {
      publishP50Ms: median(publish),
      publishP99Ms: percentile(publish, 99),
      endToEndP50Ms: median(loaded),
      endToEndP99Ms: percentile(loaded, 99),
      handledPerSecond: events / seconds,
      idleEndToEndP50Ms: median(endToEnd),
      idleEndToEndP99Ms: percentile(endToEnd, 99),
    };
  } finally {
    await subject.dispose();
  }
}

const adapters: Record<string, unknown> = {};
for (const [name, create] of agentBusSubjects) {
  const results: RunResult[] = [];
  for (let run = 0; run < runs; run += 1) results.push(await runOnce(create));
  const summary = (key: keyof RunResult, digits = 2) =>
    round(median(results.map((result) => result[key])), digits);
  adapters[name] = {
    publishP50Ms: summary('publishP50Ms'),
    publishP99Ms: summary('publishP99Ms'),
    loadedEndToEndP50Ms: summary('endToEndP50Ms'),
    loadedEndToEndP99Ms: summary('endToEndP99Ms'),
    handledPerSecond: summary('handledPerSecond', 0),
    idleEndToEndP50Ms: summary('idleEndToEndP50Ms'),
    idleEndToEndP99Ms: summary('idleEndToEndP99Ms'),
  };
}
print({
  benchmark: 'agent-bus',
  runs,
  eventsPerRun: events,
  idleEventsPerRun: idleEvents,
  machine: machine(),
  adapters,
});
process.exit(0);
