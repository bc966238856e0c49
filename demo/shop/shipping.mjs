// shipping: quotes and ships orders.
import { service, sleep } from './lib.mjs';

service('shipping', {
  'GET /quote': async ({ url }) => {
    await sleep(3);
    return { body: { costUsd: 5 + Number(url.searchParams.get('items') ?? 1) * 1.5 } };
  },
  'POST /ship': async () => {
    await sleep(4);
    return { body: { tracking: `TRK${Math.floor(Math.random() * 1e9)}` } };
  },
});
