// The one place principals are minted. A Principal is branded at compile time, and every minted object is
// remembered here, so that the gateway can refuse at run time a caller whose principal was built anywhere else
// (an object literal, a spread copy with another subject): identity vouches for it, or it is not a principal.
import type { Principal, PrincipalClaims } from '../principal.js';

const minted = new WeakSet<object>();

/** A frozen principal for claims identity has verified (a token's payload, a system actor's issued token). */
export function mintPrincipal(claims: PrincipalClaims): Principal {
  const principal = Object.freeze({
    ...claims,
    grants: Object.freeze(
      claims.grants.map((grant) => Object.freeze({ ...grant, scope: Object.freeze({ ...grant.scope }) })),
    ),
  }) as unknown as Principal;
  minted.add(principal);
  return principal;
}

/** Whether identity minted this very object. */
export function isMinted(principal: unknown): principal is Principal {
  return typeof principal === 'object' && principal !== null && minted.has(principal);
}
