// recommendation: suggests products. Fault `memory-leak`: LEAK_KB_PER_REQUEST keeps a little of every request
// forever, until the memory limit kills the replica (OOMKilled) and it restarts, again and again.
import { number, service } from './lib.mjs';

const leaked = [];
service('recommendation', {
  'GET /recommendations': async ({ call, url }) => {
    const leak = number('LEAK_KB_PER_REQUEST', 0);
    if (leak > 0) leaked.push(Buffer.alloc(leak * 1024, 1));
    const products = await call('product-catalog', '/products');
    const current = url.searchParams.get('product');
    return { body: products.filter((product) => product.id !== current).slice(0, 3) };
  },
});
