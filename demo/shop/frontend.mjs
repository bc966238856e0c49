// frontend: the shop's web front: home page, product pages, checkout. Everything users feel happens here first.
import { service } from './lib.mjs';

service('frontend', {
  'GET /': async ({ call }) => {
    const [products, ads] = await Promise.all([call('product-catalog', '/products'), call('ad', '/ads')]);
    const price = await call('currency', `/convert?amount=${products[0]?.priceUsd ?? 0}&to=EUR`);
    return { body: { products: products.length, ads, firstPriceEur: price.amount } };
  },
  'GET /product': async ({ call, url }) => {
    const id = url.searchParams.get('id') ?? 'p1';
    const [product, recommendations] = await Promise.all([
      call('product-catalog', `/product?id=${id}`),
      call('recommendation', `/recommendations?product=${id}`),
    ]);
    const quote = await call('shipping', '/quote?items=1');
    return { body: { product, recommendations, shippingUsd: quote.costUsd } };
  },
  'POST /checkout': async ({ body, call }) => {
    await call('cart', '/cart/add', {
      method: 'POST',
      body: { user: body.user, product: body.product ?? 'p1' },
    });
    return { body: await call('checkout', '/checkout', { method: 'POST', body }) };
  },
});
