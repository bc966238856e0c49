// currency: converts prices.
import { service, sleep } from './lib.mjs';

const rates = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 151 };
service('currency', {
  'GET /convert': async ({ url }) => {
    await sleep(1 + Math.random() * 2);
    const to = url.searchParams.get('to') ?? 'USD';
    const amount = Number(url.searchParams.get('amount') ?? 0);
    return { body: { currency: to, amount: Math.round(amount * (rates[to] ?? 1) * 100) / 100 } };
  },
});
