// cart: shopping carts. Fault `exception-release`: a release with THROW_ON_CHECKOUT=1 throws on one code path
// (reading a cart for checkout); browsing keeps working.
import { env, service, sleep } from './lib.mjs';

const carts = new Map();
service('cart', {
  'GET /cart': async ({ url }) => {
    await sleep(2);
    return { body: carts.get(url.searchParams.get('user')) ?? [] };
  },
  'POST /cart/add': async ({ body }) => {
    const items = carts.get(body.user) ?? [];
    items.push({ product: body.product, quantity: body.quantity ?? 1 });
    carts.set(body.user, items.slice(-20));
    return { body: { items: items.length } };
  },
  'GET /cart/checkout': async ({ url }) => {
    await sleep(2);
    const items = carts.get(url.searchParams.get('user')) ?? [{ product: 'p1', quantity: 1 }];
    if (env('THROW_ON_CHECKOUT', '0') === '1') {
      // The bug the release brought: quantity is read from an object that is not there.
      const totals = items.map((item) => item.pricing.quantity);
      return { body: totals };
    }
    return { body: items };
  },
});
