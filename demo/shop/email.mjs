// email: sends order confirmations.
import { service, sleep } from './lib.mjs';

service('email', {
  'POST /send': async ({ body, log }) => {
    await sleep(3);
    log('info', `confirmation sent for order ${body.order ?? '?'}`);
    return { body: { sent: true } };
  },
});
