// database: a database-like service with a connection pool of POOL_SIZE connections. A query holds one for
// QUERY_MS; a query that waits longer than POOL_TIMEOUT_MS for a connection fails ("pool exhausted").
import { number, service, sleep } from './lib.mjs';

const size = number('POOL_SIZE', 5);
let inUse = 0;
const waiting = [];

async function acquire(timeoutMs) {
  if (inUse < size) {
    inUse += 1;
    return;
  }
  await new Promise((resolve, reject) => {
    const entry = { resolve, timer: undefined };
    entry.timer = setTimeout(() => {
      waiting.splice(waiting.indexOf(entry), 1);
      reject(new Error(`connection pool exhausted: ${size} in use, waited ${timeoutMs} ms`));
    }, timeoutMs);
    waiting.push(entry);
  });
}

function release() {
  const next = waiting.shift();
  if (next === undefined) inUse -= 1;
  else {
    clearTimeout(next.timer);
    next.resolve();
  }
}

const { meter } = service('database', {
  'POST /query': async ({ body }) => {
    await acquire(number('POOL_TIMEOUT_MS', 500));
    try {
      await sleep(number('QUERY_MS', 10) + Math.random() * 2);
      return { body: { rows: 1, statement: String(body.sql ?? '').slice(0, 40) } };
    } finally {
      release();
    }
  },
});
meter
  .createObservableGauge('db.client.connection.count', { description: 'Connections in use' })
  .addCallback((result) => {
    result.observe(inUse, { 'db.client.connection.state': 'used' });
    result.observe(size - inUse, { 'db.client.connection.state': 'idle' });
  });
meter
  .createObservableGauge('db.client.connection.pending_requests', {
    description: 'Queries waiting for a connection',
  })
  .addCallback((result) => result.observe(waiting.length));
