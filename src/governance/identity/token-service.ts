// Identity: the built-in issuer (an ES256 key in the data dir; dev tokens, client_credentials, agents) and
// verification of bearer tokens from it and from configured external OIDC issuers (JWKS over HTTPS). It also
// knows the URL this server is reached at (server.publicUrl, else its listen address): the built-in issuer is
// named by it unless auth.issuer says otherwise, and the MCP resources and /.well-known metadata are under it.
import { createHash, randomBytes, timingSafeEqual, type webcrypto } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Config } from '../../config/config-schema.js';
import type { Clock } from '../../core/clock.js';
import { durationMs } from '../../core/duration.js';
import { InvalidError, UnauthenticatedError, errorMessage } from '../../core/errors.js';
import { mintPrincipal } from './credentials.js';
import { roleSchema, type Grant, type Principal, type PrincipalKind, type Role } from '../principal.js';

type AuthConfig = Config['auth'];
type ExternalIssuer = AuthConfig['externalIssuers'][number];

interface KeyFile {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  /** Secret of the HMAC that binds MCP requestState values to a caller. */
  readonly requestStateSecret: string;
}

export interface IssueOptions {
  readonly subject: string;
  readonly grants: readonly Grant[];
  readonly kind?: PrincipalKind;
  readonly autonomy?: 1 | 2 | 3;
  /** `8h`, `30m`, `7d`. */
  readonly ttl?: string;
  readonly audience?: string;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: string;
  readonly expiresIn: number;
}

/** File in `<dataDir>/auth/` holding the address the server last listened on. */
const addressFile = 'address';

/** A listen host as it appears in a URL (IPv6 in brackets). */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

const algorithms = ['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'EdDSA'];

/** Grants as carried in the token: `{ role, namespace, project?, component?, environment? }`. */
interface GrantClaim {
  role: string;
  namespace: string;
  project?: string;
  component?: string;
  environment?: string;
}

export class TokenService {
  private readonly localKeys: JWTVerifyGetKey;
  private readonly remoteKeys = new Map<string, JWTVerifyGetKey>();
  private readonly cache = new Map<string, { principal: Principal; expiresAtMs: number }>();

  private constructor(
    private readonly server: Config['server'],
    private readonly dataDir: string,
    private readonly config: AuthConfig,
    private readonly keys: KeyFile,
    private readonly signingKey: webcrypto.CryptoKey,
    private readonly clock: Clock,
    /** Where the server listens (or listened last, for commands run beside it); see serverUrl. */
    private address: string,
  ) {
    this.localKeys = createLocalJWKSet(this.jwks());
  }

  /** Loads the issuer key from `<dataDir>/auth/keys.json`, creating it (mode 0600) on first use. */
  static async open(options: { config: Config; clock: Clock }): Promise<TokenService> {
    const { config } = options;
    const file = join(config.dataDir, 'auth', 'keys.json');
    const keys = existsSync(file) ? readKeyFile(file) : await createKeyFile(file);
    const signingKey = (await importJWK(keys.privateJwk, 'ES256')) as webcrypto.CryptoKey;
    const recorded = join(config.dataDir, 'auth', addressFile);
    const address = existsSync(recorded)
      ? readFileSync(recorded, 'utf8').trim()
      : `http://${urlHost(config.server.host)}:${config.server.port}`;
    return new TokenService(
      config.server,
      config.dataDir,
      config.auth,
      keys,
      signingKey,
      options.clock,
      address,
    );
  }

  /**
   * The URL clients reach this server at: `server.publicUrl`, else the address it listens on (known once it
   * listens; `opspilot token create` and other commands beside a server read the one it recorded).
   */
  get serverUrl(): string {
    return this.server.publicUrl ?? this.address;
  }

  /** `iss` of built-in tokens: `auth.issuer`, else serverUrl. */
  get issuer(): string {
    return this.config.issuer ?? this.serverUrl;
  }

  /**
   * Called once the server listens (port 0 resolved): names the issuer and the metadata after that address,
   * and records it in the data dir so that `opspilot token create` signs tokens this server accepts.
   */
  listening(url: string): void {
    if (url === this.address) return;
    this.address = url;
    this.cache.clear();
    const file = join(this.dataDir, 'auth', addressFile);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${url}\n`, { mode: 0o600 });
  }

  /** Public keys for `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.keys.publicJwk, kid: this.keys.kid, use: 'sig', alg: 'ES256' }] };
  }

  get requestStateSecret(): Buffer {
    return Buffer.from(this.keys.requestStateSecret, 'base64url');
  }

  async issue(options: IssueOptions): Promise<IssuedToken> {
    const ttlMs = durationMs(options.ttl ?? this.config.tokenTtl);
    const now = this.clock.now().getTime();
    const expires = Math.floor((now + ttlMs) / 1000);
    const grants: GrantClaim[] = options.grants.map((grant) => ({
      role: grant.role,
      namespace: grant.scope.namespace,
      ...(grant.scope.project === undefined ? {} : { project: grant.scope.project }),
      ...(grant.scope.component === undefined ? {} : { component: grant.scope.component }),
      ...(grant.scope.environment === undefined ? {} : { environment: grant.scope.environment }),
    }));
    const token = await new SignJWT({
      grants,
      kind: options.kind ?? 'user',
      ...(options.autonomy === undefined ? {} : { autonomy: options.autonomy }),
    })
      .setProtectedHeader({ alg: 'ES256', kid: this.keys.kid, typ: 'JWT' })
      .setSubject(options.subject)
      .setIssuer(this.issuer)
      .setAudience(options.audience ?? this.config.audience)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(expires)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(this.signingKey);
    return { token, expiresAt: new Date(expires * 1000).toISOString(), expiresIn: Math.round(ttlMs / 1000) };
  }

  /** client_credentials: checks the secret against the configured hash and issues a token. */
  async clientCredentials(clientId: string, clientSecret: string): Promise<IssuedToken> {
    const account = this.config.serviceAccounts.find((candidate) => candidate.clientId === clientId);
    const expected = Buffer.from((account?.secretSha256 ?? `sha256:${'0'.repeat(64)}`).slice(7), 'hex');
    const actual = createHash('sha256').update(clientSecret).digest();
    // Compare even for unknown clients, so that timing does not tell which client ids exist.
    const matches = timingSafeEqual(expected, actual);
    if (account === undefined || !matches) {
      throw new UnauthenticatedError('invalid client credentials', {
        hint: 'Check client_id and client_secret against auth.serviceAccounts.',
      });
    }
    return this.issue({
      subject: account.clientId,
      kind: account.kind,
      autonomy: account.autonomy,
      grants: account.grants.map(grantFromClaim),
    });
  }

  /**
   * Verifies a bearer token and returns its principal. `audiences` are the audiences this endpoint accepts
   * (built-in tokens: the configured audience, or the MCP resource URL).
   */
  async verify(token: string, audiences: readonly string[]): Promise<Principal> {
    const cacheKey = `${audiences.join(' ')}\n${token}`;
    const cached = this.cache.get(cacheKey);
    const now = this.clock.now().getTime();
    if (cached !== undefined && cached.expiresAtMs > now) return cached.principal;
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw new UnauthenticatedError('the bearer token is not a JWT', {
        hint: 'Create one with `opspilot token create`, or get one from POST /oauth/token.',
      });
    }
    const external = this.config.externalIssuers.find((issuer) => issuer.issuer === claims.iss);
    let payload: JWTPayload;
    try {
      if (external === undefined) {
        if (claims.iss !== this.issuer) {
          throw new Error(
            `issuer ${String(claims.iss)} is not trusted (this server's issuer is ${this.issuer})`,
          );
        }
        ({ payload } = await jwtVerify(token, this.localKeys, {
          issuer: this.issuer,
          audience: [...audiences],
          algorithms: ['ES256'],
          requiredClaims: ['exp', 'sub'],
          currentDate: this.clock.now(),
        }));
      } else {
        ({ payload } = await jwtVerify(token, this.remoteKeySet(external), {
          issuer: external.issuer,
          audience: typeof external.audience === 'string' ? external.audience : [...external.audience],
          algorithms,
          requiredClaims: ['exp'],
          currentDate: this.clock.now(),
        }));
      }
    } catch (error) {
      throw new UnauthenticatedError(`the bearer token was rejected: ${describeJoseError(error)}`, {
        hint: 'Get a fresh token (`opspilot token create`, POST /oauth/token or your identity provider).',
      });
    }
    const principal =
      external === undefined ? this.builtInPrincipal(payload) : externalPrincipal(external, payload);
    const expiresAtMs = (payload.exp ?? 0) * 1000;
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(cacheKey, { principal, expiresAtMs });
    return principal;
  }

  private builtInPrincipal(payload: JWTPayload): Principal {
    const grants = Array.isArray(payload.grants) ? (payload.grants as unknown[]) : [];
    const kind = payload.kind === 'agent' || payload.kind === 'service' ? payload.kind : 'user';
    const autonomy = payload.autonomy === 1 || payload.autonomy === 3 ? payload.autonomy : 2;
    return mintPrincipal({
      subject: String(payload.sub),
      kind,
      autonomy: kind === 'agent' ? autonomy : 2,
      grants: grants.flatMap((claim) => {
        const parsed = grantClaimSchema(claim);
        return parsed === undefined ? [] : [parsed];
      }),
      issuer: this.issuer,
      tokenId: typeof payload.jti === 'string' ? payload.jti : undefined,
    });
  }

  private remoteKeySet(issuer: ExternalIssuer): JWTVerifyGetKey {
    let keys = this.remoteKeys.get(issuer.jwksUrl);
    if (keys === undefined) {
      keys = createRemoteJWKSet(new URL(issuer.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      this.remoteKeys.set(issuer.jwksUrl, keys);
    }
    return keys;
  }
}

function externalPrincipal(issuer: ExternalIssuer, payload: JWTPayload): Principal {
  const claimed = readClaim(payload, issuer.subjectClaim);
  const subject = typeof claimed === 'string' ? claimed : (payload.sub ?? '(unknown)');
  const values = readClaim(payload, issuer.roleClaim);
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
  const grants = list.flatMap((value) => (issuer.roleMapping[String(value)] ?? []).map(grantFromClaim));
  return mintPrincipal({
    subject,
    kind: 'user',
    autonomy: 2,
    grants,
    issuer: issuer.issuer,
    tokenId: typeof payload.jti === 'string' ? payload.jti : undefined,
  });
}

function readClaim(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function grantClaimSchema(claim: unknown): Grant | undefined {
  if (claim === null || typeof claim !== 'object') return undefined;
  const record = claim as Record<string, unknown>;
  const role = roleSchema.safeParse(record.role);
  if (!role.success || typeof record.namespace !== 'string') return undefined;
  return grantFromClaim({
    role: role.data,
    namespace: record.namespace,
    project: typeof record.project === 'string' ? record.project : undefined,
    component: typeof record.component === 'string' ? record.component : undefined,
    environment: typeof record.environment === 'string' ? record.environment : undefined,
  });
}

export function grantFromClaim(claim: {
  role: Role;
  namespace: string;
  project?: string | undefined;
  component?: string | undefined;
  environment?: string | undefined;
}): Grant {
  return {
    role: claim.role,
    scope: {
      namespace: claim.namespace,
      ...(claim.project === undefined ? {} : { project: claim.project }),
      ...(claim.component === undefined ? {} : { component: claim.component }),
      ...(claim.environment === undefined ? {} : { environment: claim.environment }),
    },
  };
}

function describeJoseError(error: unknown): string {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'it has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `claim check failed (${errorMessage(error)})`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the signature does not verify';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'its algorithm is not allowed';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no key of the issuer matches it';
    default:
      return errorMessage(error);
  }
}

function readKeyFile(file: string): KeyFile {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
  } catch (error) {
    throw new InvalidError(`cannot read the token signing key ${file}: ${errorMessage(error)}`, [], {
      hint: 'Restore it from a backup, or delete it to create a new key (tokens issued so far stop working).',
    });
  }
}

async function createKeyFile(file: string): Promise<KeyFile> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const keys: KeyFile = {
    kid: randomBytes(8).toString('hex'),
    privateJwk: await exportJWK(privateKey),
    publicJwk: await exportJWK(publicKey),
    requestStateSecret: randomBytes(32).toString('base64url'),
  };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(keys, null, 2), { mode: 0o600 });
  chmodSync(temporary, 0o600);
  // link() fails when the file exists: of two processes creating it at once, the first one's key wins and
  // the other reads it, so nobody keeps a key that is not on disk.
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readKeyFile(file);
}
