// ad: contextual ads. Declared over-provisioned (fault `over-provisioned`): it requests far more than it uses.
import { service, sleep } from './lib.mjs';

const ads = [
  'Clear skies sale: 20% off telescopes',
  'Free star chart with every order',
  'Night vision torches',
];
service('ad', {
  'GET /ads': async () => {
    await sleep(1);
    return { body: [ads[Math.floor(Math.random() * ads.length)]] };
  },
});
