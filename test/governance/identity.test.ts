// Token attacks against the built-in issuer's verification, and client_credentials: every forged, expired,
// misdirected or tampered token is refused with a reason; a good one yields its principal and grants.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { UnauthenticatedError } from '../../src/core/errors.js';
import { TokenService } from '../../src/governance/identity/token-service.js';

let dataDir: string;
let tokens: TokenService;
const audience = ['opspilot'];
const secret = 'correct horse battery staple';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'opspilot-identity-'));
  const config = loadConfig({ env: {}, cwd: dataDir, overrides: { dataDir } });
  tokens = await TokenService.open({
    config: {
      ...config,
      auth: {
        ...config.auth,
        serviceAccounts: [
          {
            clientId: 'rca-agent',
            secretSha256: `sha256:${createHash('sha256').update(secret).digest('hex')}`,
            kind: 'agent',
            autonomy: 1,
            grants: [{ role: 'rca-agent', namespace: 'shop' }],
          },
        ],
      },
    },
    clock: { now: () => new Date() },
  });
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function rejects(token: string, reason: RegExp, audiences = audience): Promise<void> {
  const error = await tokens.verify(token, audiences).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UnauthenticatedError);
  expect((error as Error).message).toMatch(reason);
}

describe('bearer tokens', () => {
  it('accepts a token of the built-in issuer with its grants', async () => {
    const { token } = await tokens.issue({
      subject: 'alice',
      grants: [{ role: 'operator', scope: { namespace: 'shop' } }],
    });
    const principal = await tokens.verify(token, audience);
    expect(principal).toMatchObject({
      subject: 'alice',
      kind: 'user',
      grants: [{ role: 'operator', scope: { namespace: 'shop' } }],
    });
  });

  it('refuses alg none', async () => {
    const unsigned = new UnsecuredJWT({ grants: [{ role: 'platform-admin', namespace: '*' }] })
      .setSubject('mallory')
      .setIssuer(tokens.issuer)
      .setAudience('opspilot')
      .setExpirationTime('1h')
      .encode();
    await rejects(unsigned, /rejected/);
  });

  it('refuses a token signed by another key with the same kid, issuer and audience', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const kid = tokens.jwks().keys[0]?.kid ?? '';
    const forged = await new SignJWT({ grants: [{ role: 'platform-admin', namespace: '*' }] })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject('mallory')
      .setIssuer(tokens.issuer)
      .setAudience('opspilot')
      .setExpirationTime('1h')
      .sign(privateKey);
    await rejects(forged, /signature does not verify/);
  });

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const jwk = tokens.jwks().keys[0];
    const key = new TextEncoder().encode(JSON.stringify(jwk));
    const confused = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: jwk?.kid ?? '' })
      .setSubject('mallory')
      .setIssuer(tokens.issuer)
      .setAudience('opspilot')
      .setExpirationTime('1h')
      .sign(key);
    await rejects(confused, /rejected/);
  });

  it('refuses a wrong issuer, a wrong audience and an expired token', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const otherIssuer = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('mallory')
      .setIssuer('https://evil.example')
      .setAudience('opspilot')
      .setExpirationTime('1h')
      .sign(privateKey);
    await rejects(otherIssuer, /issuer https:\/\/evil.example is not trusted/);
    const { token: forMcp } = await tokens.issue({
      subject: 'alice',
      grants: [],
      audience: 'http://127.0.0.1:1/mcp/control-plane',
    });
    await rejects(forMcp, /claim check failed/);
    expect((await tokens.verify(forMcp, ['opspilot', 'http://127.0.0.1:1/mcp/control-plane'])).subject).toBe(
      'alice',
    );
    const past = new Date(Date.now() - 3_600_000);
    const expired = await (
      await TokenService.open({
        config: loadConfig({ env: {}, cwd: dataDir, overrides: { dataDir } }),
        clock: { now: () => past },
      })
    ).issue({ subject: 'alice', grants: [], ttl: '1m' });
    await rejects(expired.token, /expired/);
  });

  it('refuses a tampered payload', async () => {
    const { token } = await tokens.issue({
      subject: 'alice',
      grants: [{ role: 'viewer', scope: { namespace: 'shop' } }],
    });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    claims.grants = [{ role: 'platform-admin', namespace: '*' }];
    const tampered = `${header ?? ''}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature ?? ''}`;
    await rejects(tampered, /signature does not verify/);
    await rejects('not-a-jwt', /not a JWT/);
  });

  it('issues client_credentials tokens to service accounts and refuses wrong secrets', async () => {
    const issued = await tokens.clientCredentials('rca-agent', secret);
    const principal = await tokens.verify(issued.token, audience);
    expect(principal).toMatchObject({
      subject: 'rca-agent',
      kind: 'agent',
      autonomy: 1,
      grants: [{ role: 'rca-agent', scope: { namespace: 'shop' } }],
    });
    await expect(tokens.clientCredentials('rca-agent', 'guess')).rejects.toThrow(
      /invalid client credentials/,
    );
    await expect(tokens.clientCredentials('nobody', secret)).rejects.toThrow(/invalid client credentials/);
  });

  it('keeps the signing key across restarts, with a JWKS that verifies', async () => {
    const again = await TokenService.open({
      config: loadConfig({ env: {}, cwd: dataDir, overrides: { dataDir } }),
      clock: { now: () => new Date() },
    });
    const { token } = await tokens.issue({ subject: 'alice', grants: [] });
    expect((await again.verify(token, audience)).subject).toBe('alice');
    expect(again.jwks()).toEqual(tokens.jwks());
    expect(await exportJWK((await generateKeyPair('ES256')).publicKey)).not.toEqual(again.jwks().keys[0]);
  });

  it('trusts a configured OIDC issuer through its JWKS and maps its group claim to grants', async () => {
    // A local HTTP server plays the identity provider's JWKS endpoint (the same JSON a real one serves).
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
    const idp = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const port = (idp.address() as AddressInfo).port;
    try {
      const config = loadConfig({ env: {}, cwd: dataDir, overrides: { dataDir } });
      const oidc = await TokenService.open({
        config: {
          ...config,
          auth: {
            ...config.auth,
            externalIssuers: [
              {
                issuer: 'https://login.example.com/realms/ops',
                audience: 'opspilot',
                jwksUrl: `http://127.0.0.1:${port}/certs`,
                roleClaim: 'realm_access.groups',
                subjectClaim: 'preferred_username',
                roleMapping: {
                  sre: [{ role: 'operator', namespace: '*' }],
                  shop: [{ role: 'viewer', namespace: 'shop' }],
                },
              },
            ],
          },
        },
        clock: { now: () => new Date() },
      });
      const sign = (
        claims: Record<string, unknown>,
        audienceClaim = 'opspilot',
        kid = 'idp-1',
        key = privateKey,
      ) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid })
          .setSubject('f81d4fae')
          .setIssuer('https://login.example.com/realms/ops')
          .setAudience(audienceClaim)
          .setExpirationTime('10m')
          .sign(key);
      const principal = await oidc.verify(
        await sign({ preferred_username: 'carol', realm_access: { groups: ['sre', 'unmapped'] } }),
        audience,
      );
      expect(principal).toMatchObject({
        subject: 'carol',
        kind: 'user',
        issuer: 'https://login.example.com/realms/ops',
        grants: [{ role: 'operator', scope: { namespace: '*' } }],
      });
      const none = await oidc.verify(
        await sign({ preferred_username: 'dave', realm_access: { groups: ['unmapped'] } }),
        audience,
      );
      expect(none.grants).toEqual([]);
      await expect(
        oidc.verify(await sign({ preferred_username: 'carol' }, 'another-api'), audience),
      ).rejects.toThrow(/claim check failed/);
      const stranger = await generateKeyPair('RS256');
      await expect(
        oidc.verify(
          await sign({ preferred_username: 'carol' }, 'opspilot', 'idp-2', stranger.privateKey),
          audience,
        ),
      ).rejects.toThrow(/no key of the issuer matches it/);
    } finally {
      idp.close();
    }
  });
});
