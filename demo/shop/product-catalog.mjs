// product-catalog: the products. Fault `slow-release`: a release with EXTRA_LATENCY_MS adds latency to every read.
import { number, service, sleep } from './lib.mjs';

const products = [
  'telescope',
  'binoculars',
  'star-chart',
  'red-torch',
  'tripod',
  'lens-kit',
  'filter',
  'guidebook',
].map((name, index) => ({ id: `p${index + 1}`, name, priceUsd: 20 + index * 15 }));
const extra = () => sleep(number('EXTRA_LATENCY_MS', 0) + Math.random() * 3);

service('product-catalog', {
  'GET /products': async () => {
    await extra();
    return { body: products };
  },
  'GET /product': async ({ url }) => {
    await extra();
    const product = products.find((item) => item.id === url.searchParams.get('id'));
    return product === undefined ? { status: 404, body: { error: 'no such product' } } : { body: product };
  },
});
