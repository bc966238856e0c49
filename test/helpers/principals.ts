// Principals for tests that call governed services in-process: minted by identity, as the gateway requires (a
// server's edges get theirs from verified tokens).
import { mintPrincipal } from '../../src/governance/identity/credentials.js';
import type { Principal } from '../../src/governance/principal.js';

/** A platform-admin of every namespace, for tests that set up state through the governed path. */
export const adminPrincipal: Principal = mintPrincipal({
  subject: 'test:admin',
  kind: 'service',
  grants: [{ role: 'platform-admin', scope: { namespace: '*' } }],
  autonomy: 3,
  issuer: 'test',
});
