// Forged, misdirected and malformed bearer tokens against a real in-process server over real HTTP, on the REST
// API, both MCP endpoints and the OTLP receiver (otlp.auth: required): each is refused with 401 and a challenge,
// and each refusal is audited as unauthenticated. The token service's own checks (alg none, another key with
// the same kid, algorithm confusion, issuer, audience, expiry, a tampered payload) are unit-tested in
// test/governance/identity.test.ts; this suite proves the edges reach them and audit what they refuse. It also
// proves the gateway's run-time mint check: a principal built by hand gets no services.
import type { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SignJWT,
  UnsecuredJWT,
  base64url,
  decodeJwt,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { UnauthenticatedError } from '../../src/core/errors.js';
import { otlpAudience } from '../../src/governance/governance.js';
import { TokenService } from '../../src/governance/identity/token-service.js';
import type { Principal } from '../../src/governance/principal.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
let otlp: string;
/** The server's own signing key, read from its data dir: to sign tokens that differ in one claim only. */
let ownKey: { kid: string; key: webcrypto.CryptoKey };
let issuer: string;
let otherDataDir: string;

const adminGrants = [{ role: 'platform-admin', namespace: '*' }];

/** A token signed with the server's own key: only the claims given make it wrong. */
async function signedByServer(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    grants: adminGrants,
    sub: 'mallory',
    iss: issuer,
    aud: 'opspilot',
    iat: now,
    exp: now + 3600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: ownKey.kid, typ: 'JWT', ...header })
    .sign(ownKey.key);
}

/** A token with an HS256 signature keyed by `secret` (something public of the server's). */
async function hmacWith(secret: string): Promise<string> {
  return new SignJWT({ grants: adminGrants })
    .setProtectedHeader({ alg: 'HS256', kid: ownKey.kid, typ: 'JWT' })
    .setSubject('mallory')
    .setIssuer(issuer)
    .setAudience('opspilot')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

type Forgery = readonly [name: string, authorization: () => string | Promise<string>];

/** Every forgery, as the Authorization header it is sent with. */
const forgeries: readonly Forgery[] = [
  [
    'alg none',
    () =>
      `Bearer ${new UnsecuredJWT({ grants: adminGrants }).setSubject('mallory').setIssuer(issuer).setAudience('opspilot').setExpirationTime('1h').encode()}`,
  ],
  [
    'HS256 keyed with the JWKS document',
    async () => `Bearer ${await hmacWith(await (await fetch(`${server.url}/.well-known/jwks.json`)).text())}`,
  ],
  [
    'HS256 keyed with the public key (PEM)',
    async () => {
      const { keys } = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
      const key = await importJWK({ ...keys[0], ext: true }, 'ES256', { extractable: true });
      return `Bearer ${await hmacWith(await exportSPKI(key as webcrypto.CryptoKey))}`;
    },
  ],
  ['expired', async () => `Bearer ${await signedByServer({ exp: Math.floor(Date.now() / 1000) - 60 })}`],
  [
    'not yet valid',
    async () => `Bearer ${await signedByServer({ nbf: Math.floor(Date.now() / 1000) + 3600 })}`,
  ],
  ['another issuer', async () => `Bearer ${await signedByServer({ iss: 'https://idp.example' })}`],
  ['no expiry', async () => `Bearer ${await signedByServer({ exp: undefined })}`],
  [
    'grants edited, signature kept',
    async () => {
      const { token } = await server.opspilot.governance.tokens.issue({
        subject: 'vic',
        grants: [{ role: 'viewer', scope: { namespace: 'shop' } }],
      });
      const [header, payload, signature] = token.split('.');
      const claims = { ...decodeJwt(token), grants: adminGrants };
      expect(payload).toBeDefined();
      return `Bearer ${header ?? ''}.${base64url.encode(JSON.stringify(claims))}.${signature ?? ''}`;
    },
  ],
  [
    'kid, jku and an embedded jwk pointing at the forger’s key',
    async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const token = await new SignJWT({ grants: adminGrants })
        .setProtectedHeader({
          alg: 'ES256',
          kid: 'forger',
          jku: 'http://127.0.0.1:9/jwks.json',
          jwk: await exportJWK(publicKey),
        })
        .setSubject('mallory')
        .setIssuer(issuer)
        .setAudience('opspilot')
        .setExpirationTime('1h')
        .sign(privateKey);
      return `Bearer ${token}`;
    },
  ],
  [
    "another opspilot's key, same issuer and audience",
    async () => {
      const config = loadConfig({
        env: { OPSPILOT_AUTH__ISSUER: issuer },
        cwd: otherDataDir,
        overrides: { dataDir: otherDataDir },
      });
      const other = await TokenService.open({ config, clock: { now: () => new Date() } });
      const { token } = await other.issue({
        subject: 'admin',
        grants: [{ role: 'platform-admin', scope: { namespace: '*' } }],
      });
      return `Bearer ${token}`;
    },
  ],
  ['garbage', () => 'Bearer not-a-jwt'],
  ['three garbage segments', () => 'Bearer e30.e30.'],
  ['a JWT with a JSON array payload', () => `Bearer e30.${base64url.encode('[1,2]')}.sig`],
  ['another scheme', () => `Basic ${Buffer.from('admin:admin').toString('base64')}`],
  ['an empty bearer', () => 'Bearer '],
];

interface Edge {
  readonly name: string;
  readonly edge: 'rest' | 'mcp' | 'otlp';
  request(authorization: string): Promise<Response>;
}

const edges: readonly Edge[] = [
  {
    name: 'REST',
    edge: 'rest',
    request: (authorization) => fetch(`${server.url}/api/v1/auth/whoami`, { headers: { authorization } }),
  },
  ...(['control-plane', 'observability'] as const).map((name): Edge => ({
    name: `MCP ${name}`,
    edge: 'mcp',
    request: (authorization) =>
      fetch(`${server.url}/mcp/${name}`, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      }),
  })),
  {
    name: 'OTLP /v1/traces',
    edge: 'otlp',
    request: (authorization) =>
      fetch(`${otlp}/v1/traces`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ resourceSpans: [] }),
      }),
  },
];

beforeAll(async () => {
  server = await startInProcess({ OPSPILOT_OTLP__AUTH: 'required' });
  otlp = server.opspilot.telemetry.otlpEndpoint ?? '';
  issuer = server.opspilot.governance.tokens.issuer;
  const keys = JSON.parse(readFileSync(join(server.workspace, 'data', 'auth', 'keys.json'), 'utf8')) as {
    kid: string;
    privateJwk: JWK;
  };
  ownKey = { kid: keys.kid, key: (await importJWK(keys.privateJwk, 'ES256')) as webcrypto.CryptoKey };
  otherDataDir = mkdtempSync(join(tmpdir(), 'opspilot-other-'));
}, 30_000);

afterAll(async () => {
  await server.close();
  rmSync(otherDataDir, { recursive: true, force: true });
});

/** Sends the header to the edge: it must be 401 with a challenge, and leave an unauthenticated record. */
async function expectRefused(edge: Edge, authorization: string): Promise<void> {
  const audit = server.opspilot.governance.audit;
  const [latest] = await audit.list({ limit: 1 });
  const response = await edge.request(authorization);
  const body = await response.text();
  expect(response.status, body.slice(0, 300)).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  // It says what was wrong and what to do (problem+json on REST and MCP, the OTLP receiver's own JSON).
  const answer = JSON.parse(body) as { detail?: string; hint?: string; message?: string };
  expect(answer.detail ?? answer.message).toBeTypeOf('string');
  if (edge.edge !== 'otlp') expect(answer.hint).toBeTypeOf('string');
  const records = (await audit.list({ limit: 10 })).filter((record) => record.seq > (latest?.seq ?? 0));
  expect(records).toEqual([
    expect.objectContaining({
      principal: '(unauthenticated)',
      edge: edge.edge,
      decision: 'deny',
      result: 'unauthenticated',
    }),
  ]);
}

describe('forged bearer tokens', () => {
  it('are a real server first: the same requests with genuine tokens get through', async () => {
    const admin = `Bearer ${(await server.opspilot.adminToken()).token}`;
    const sender = await server.opspilot.governance.tokens.issue({
      subject: 'collector',
      kind: 'service',
      grants: [{ role: 'platform-admin', scope: { namespace: '*' } }],
      audience: otlpAudience,
    });
    const [rest, controlPlane, observability, traces] = await Promise.all(
      edges.map((edge) =>
        edge
          .request(edge.edge === 'otlp' ? `Bearer ${sender.token}` : admin)
          .then((response) => response.status),
      ),
    );
    expect([rest, controlPlane, observability, traces]).toEqual([200, 200, 200, 200]);
    // The own-key signer makes tokens the server accepts, so each forgery below differs in what it names.
    const response = await edges[0]?.request(`Bearer ${await signedByServer({})}`);
    expect(response?.status).toBe(200);
  });

  describe.each(edges.map((edge) => [edge.name, edge] as const))('on %s', (_name, edge) => {
    it.each(forgeries)('refuse %s with 401, audited as unauthenticated', async (_forgery, authorization) => {
      await expectRefused(edge, await authorization());
    });
  });
});

describe('an oversized Authorization header', () => {
  it.each(edges.map((edge) => [edge.name, edge] as const))(
    'is refused on %s by the HTTP parser with 431, before any route authenticates anyone',
    async (_name, edge) => {
      const audit = server.opspilot.governance.audit;
      const [latest] = await audit.list({ limit: 1 });
      const response = await edge.request(`Bearer ${'A'.repeat(64 * 1024)}`);
      expect(response.status).toBe(431);
      await response.body?.cancel();
      const records = (await audit.list({ limit: 10 })).filter((record) => record.seq > (latest?.seq ?? 0));
      expect(records.filter((record) => record.principal !== '(unauthenticated)')).toEqual([]);
    },
  );
});

describe('tokens for another audience', () => {
  const issue = async (audience?: string) =>
    `Bearer ${
      (
        await server.opspilot.governance.tokens.issue({
          subject: 'aud',
          grants: [{ role: 'platform-admin', scope: { namespace: '*' } }],
          ...(audience === undefined ? {} : { audience }),
        })
      ).token
    }`;
  const [rest, controlPlane, observability, traces] = edges;

  it('refuse an OTLP token on the API and on MCP', async () => {
    const token = await issue(otlpAudience);
    for (const edge of [rest, controlPlane, observability])
      if (edge !== undefined) await expectRefused(edge, token);
  });

  it('refuse an API token on /v1/traces', async () => {
    if (traces !== undefined) await expectRefused(traces, await issue());
  });

  it("refuse an MCP resource token on the other MCP server, on the API and for another server's URL", async () => {
    const observabilityToken = await issue(
      `${server.opspilot.governance.tokens.serverUrl}/mcp/observability`,
    );
    if (controlPlane !== undefined) await expectRefused(controlPlane, observabilityToken);
    if (rest !== undefined) await expectRefused(rest, observabilityToken);
    if (observability !== undefined) {
      await expectRefused(observability, await issue('http://opspilot.example:8080/mcp/observability'));
    }
  });
});

describe('a principal built by hand', () => {
  const caller = (principal: Principal) => ({ principal, edge: 'rest' as const, client: 'forger' });

  it('gets no services from the gateway: an object literal, or a copy of a genuine principal', async () => {
    const gateway = server.opspilot.governance.gateway;
    const literal = {
      subject: 'mallory',
      kind: 'user',
      autonomy: 3,
      issuer: issuer,
      grants: [{ role: 'platform-admin', scope: { namespace: '*' } }],
    } as unknown as Principal;
    expect(() => gateway.forCaller(caller(literal))).toThrow(UnauthenticatedError);
    expect(() => gateway.forCaller(caller(literal))).toThrow(/not issued by identity/);
    const { token } = await server.opspilot.governance.tokens.issue({
      subject: 'vic',
      grants: [{ role: 'viewer', scope: { namespace: 'shop' } }],
    });
    const genuine = await gateway.authenticate(`Bearer ${token}`, [gateway.auth.audience]);
    expect(() => gateway.forCaller(caller(genuine))).not.toThrow();
    const elevated = {
      ...genuine,
      grants: [{ role: 'platform-admin', scope: { namespace: '*' } }],
    } as unknown as Principal;
    expect(() => gateway.forCaller(caller(elevated))).toThrow(UnauthenticatedError);
    // A minted principal cannot be edited in place either.
    expect(() => {
      (genuine as unknown as { subject: string }).subject = 'admin';
    }).toThrow(TypeError);
  });
});
