import { describe, expect, it } from 'vitest';
import { formatScope, parseScope, type Scope } from './principal.js';

describe('parseScope', () => {
  it('reads back every form formatScope writes', () => {
    const scopes: Scope[] = [
      { namespace: 'shop' },
      { namespace: 'shop', project: 'web' },
      { namespace: 'shop', component: 'cart' },
      { namespace: 'shop', project: 'web', component: 'cart' },
      { namespace: 'shop', component: 'cart', environment: 'prod' },
      { namespace: 'shop', environment: 'prod' },
    ];
    for (const scope of scopes) expect(parseScope(formatScope(scope))).toEqual(scope);
  });

  it("reads a proposal's target, * where unset", () => {
    expect(parseScope('shop/*/cart/prod')).toEqual({
      namespace: 'shop',
      component: 'cart',
      environment: 'prod',
    });
    expect(parseScope('shop/web/*/*')).toEqual({ namespace: 'shop', project: 'web' });
  });

  it('gives up on anything else', () => {
    for (const text of ['', '(platform)', 'the whole platform', '*/cart', 'a/b/c/d/e']) {
      expect(parseScope(text), text).toBeUndefined();
    }
  });
});
