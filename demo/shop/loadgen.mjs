// loadgen: shoppers. About RPS requests a second to the frontend: home pages, product pages, and a checkout now
// and then. Prints a line a minute with what it saw.
import { number, sleep } from './lib.mjs';

const base = process.env.FRONTEND_URL ?? 'http://127.0.0.1:41000';
const rps = number('RPS', 4);
let ok = 0;
let failed = 0;
let running = true;
process.on('SIGTERM', () => (running = false));
process.on('SIGINT', () => (running = false));

async function visit(index) {
  const user = `user-${index % 50}`;
  const roll = Math.random();
  const request =
    roll < 0.5
      ? fetch(`${base}/`)
      : roll < 0.85
        ? fetch(`${base}/product?id=p${1 + (index % 8)}`)
        : fetch(`${base}/checkout`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user, product: `p${1 + (index % 8)}`, currency: 'EUR' }),
          });
  try {
    const response = await request;
    await response.arrayBuffer();
    if (response.ok) ok += 1;
    else failed += 1;
  } catch {
    failed += 1;
  }
}

setInterval(() => {
  console.log(
    JSON.stringify({ level: failed > 0 ? 'warn' : 'info', msg: `last minute: ${ok} ok, ${failed} failed` }),
  );
  ok = 0;
  failed = 0;
}, 60_000).unref();

for (let index = 0; running; index += 1) {
  void visit(index);
  await sleep(1000 / rps);
}
process.exit(0);
