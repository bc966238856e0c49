// payment: charges cards over TLS to a card processor. It reports how many days its TLS certificate has left
// (tls.certificate.expiry, days); fault `cert-expiry` sets CERT_EXPIRES_IN_DAYS close to zero.
import { number, service, sleep } from './lib.mjs';

const { meter } = service('payment', {
  'POST /charge': async ({ body }) => {
    await sleep(8 + Math.random() * 6);
    return { body: { charged: body.amountUsd ?? 0, transaction: `tx-${Date.now()}` } };
  },
});
meter
  .createObservableGauge('tls.certificate.expiry', {
    unit: 'd',
    description: 'Days until the TLS certificate expires',
  })
  .addCallback((result) =>
    result.observe(number('CERT_EXPIRES_IN_DAYS', 90), { 'tls.server.name': 'payments.example.com' }),
  );
