// Signing in to the dashboard with an OpenID Connect issuer (authorization code + PKCE). The issuer is a real
// OpenID provider, panva's oidc-provider (the certified Node implementation), with its development login and
// consent pages; the browser is real Chromium. The ID token it issues is verified by opspilot against the
// issuer's JWKS and its `groups` claim maps to roles.
import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../helpers/browser.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { freePort } from '../helpers/opspilot-process.js';

let idp: Server;
let issuer: string;
let server: InProcessServer;

beforeAll(async () => {
  const [idpPort, port] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${idpPort}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'opspilot-dashboard',
        token_endpoint_auth_method: 'none',
        redirect_uris: [`http://127.0.0.1:${port}/`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    clientBasedCORS: () => true,
    conformIdTokenClaims: false,
    scopes: ['openid', 'email', 'groups'],
    claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
    findAccount: (_context, sub) => ({
      accountId: sub,
      claims: () => ({ sub, email: `${sub}@example.com`, groups: sub === 'olga' ? ['sre'] : [] }),
    }),
  });
  idp = provider.listen(idpPort, '127.0.0.1');
  server = await startInProcess(
    {},
    {
      port,
      configYaml: `auth:
  externalIssuers:
    - issuer: ${issuer}
      audience: opspilot-dashboard
      jwksUrl: ${issuer}/jwks
      roleClaim: groups
      subjectClaim: email
      roleMapping:
        sre: [{ role: operator, namespace: shop }]
      dashboard: { clientId: opspilot-dashboard, scopes: openid email groups, name: Example SSO }
`,
    },
  );
  await server.opspilot.platform.apply([
    { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: 'shop' }, spec: {} },
  ]);
}, 30_000);

afterAll(async () => {
  await server.close();
  idp.closeAllConnections();
  await new Promise((resolve) => idp.close(resolve));
});

describe('dashboard sign-in with OpenID Connect', () => {
  it('offers the configured issuer, and comes back signed in with the roles its groups map to', async () => {
    const config = (await (await fetch(`${server.url}/api/v1/auth/config`)).json()) as {
      issuers: { name: string; issuer: string; clientId: string }[];
    };
    expect(config.issuers).toEqual([
      expect.objectContaining({ name: 'Example SSO', issuer, clientId: 'opspilot-dashboard' }),
    ]);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(server.url);
      await page.getByRole('button', { name: 'Sign in with Example SSO' }).click();
      // The issuer's own pages: login, then consent.
      await page.waitForURL(new RegExp(`^${issuer}/`));
      await page.locator('input[name="login"]').fill('olga');
      await page.locator('input[name="password"]').fill('any');
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      expect(await page.locator('.who').innerText()).toBe('olga@example.com');
      expect(page.url()).toBe(`${server.url}/`);
      await screenshot(page, 'oidc-signed-in');

      // PKCE: the authorization request carried an S256 challenge, never the verifier.
      const authorize = new URL(requests.find((url) => url.startsWith(`${issuer}/auth`)) ?? `${issuer}/`);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(authorize.searchParams.get('code_verifier')).toBeNull();

      // The signed-in person is olga with the operator role in shop, from the issuer's groups claim.
      const who = await page.evaluate<{ subject: string; issuer: string; allowed: Record<string, unknown> }>(
        `fetch('/api/v1/auth/whoami', {
          headers: { authorization: 'Bearer ' + sessionStorage.getItem('opspilot.token') },
        }).then((response) => response.json())`,
      );
      expect(who.subject).toBe('olga@example.com');
      expect(who.issuer).toBe(issuer);
      expect(who.allowed['proposal.approve']).toEqual(['shop']);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
