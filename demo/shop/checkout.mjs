// checkout: places orders: reads the cart, prices in the user's currency, charges, stores the order, ships and
// mails. Fault `pool-exhaustion`: a release with QUERIES_PER_ORDER=200 stores every line item with its own query
// (N+1), in parallel, and exhausts the database's connection pool.
import { number, service } from './lib.mjs';

service('checkout', {
  'POST /checkout': async ({ body, call }) => {
    const user = body.user ?? 'anonymous';
    const items = await call('cart', `/cart/checkout?user=${encodeURIComponent(user)}`);
    const totalUsd = items.length * 35;
    const price = await call('currency', `/convert?amount=${totalUsd}&to=${body.currency ?? 'USD'}`);
    const payment = await call('payment', '/charge', { method: 'POST', body: { amountUsd: totalUsd } });
    const queries = number('QUERIES_PER_ORDER', 1);
    await Promise.all(
      Array.from({ length: queries }, (_, index) =>
        call('database', '/query', {
          method: 'POST',
          body: { sql: `INSERT INTO order_lines VALUES (${index})` },
        }),
      ),
    );
    const shipment = await call('shipping', '/ship', { method: 'POST', body: { items: items.length } });
    await call('email', '/send', { method: 'POST', body: { order: payment.transaction } });
    return { body: { order: payment.transaction, total: price, tracking: shipment.tracking } };
  },
});
