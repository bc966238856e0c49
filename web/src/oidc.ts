// Sign-in with an OpenID Connect issuer: authorization code flow with PKCE (S256), the dashboard as a public
// client. The verifier and state live in session storage for the round trip; the token the API accepts is the
// access token when the issuer makes it a JWT, else the ID token (its audience is the client id, which the
// issuer's `audience` in opspilot's config must then include).

export interface OidcIssuer {
  name: string;
  issuer: string;
  clientId: string;
  scopes: string;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

const pendingKey = 'opspilot.oidc';

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function random(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`${issuer} has no OpenID configuration (${response.status})`);
  return (await response.json()) as Discovery;
}

const redirectUri = () => `${window.location.origin}/`;

/** Leaves for the issuer's sign-in page. */
export async function beginSignIn(issuer: OidcIssuer): Promise<void> {
  const discovery = await discover(issuer.issuer);
  const verifier = random();
  const state = random();
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(pendingKey, JSON.stringify({ issuer, verifier, state }));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: issuer.clientId,
    redirect_uri: redirectUri(),
    scope: issuer.scopes,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url.toString());
}

/**
 * On the way back from the issuer (`?code=…&state=…`): exchanges the code for tokens and returns the one to use
 * with the API; null when this page load is not such a return. Clears the query either way.
 */
export async function completeSignIn(): Promise<string | null> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (code === null && error === null) return null;
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.hash}`);
  const pending = sessionStorage.getItem(pendingKey);
  sessionStorage.removeItem(pendingKey);
  if (error !== null)
    throw new Error(`the issuer refused the sign-in: ${params.get('error_description') ?? error}`);
  if (pending === null) throw new Error('no sign-in was started in this tab: start again');
  const { issuer, verifier, state } = JSON.parse(pending) as {
    issuer: OidcIssuer;
    verifier: string;
    state: string;
  };
  if (params.get('state') !== state)
    throw new Error('the sign-in answer does not match the request (state): start again');
  const discovery = await discover(issuer.issuer);
  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code ?? '',
      redirect_uri: redirectUri(),
      client_id: issuer.clientId,
      code_verifier: verifier,
    }).toString(),
  });
  const tokens = (await response.json()) as {
    access_token?: string;
    id_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!response.ok)
    throw new Error(
      `the issuer did not give tokens: ${tokens.error_description ?? tokens.error ?? response.status}`,
    );
  const jwt = (token: string | undefined) => token !== undefined && token.split('.').length === 3;
  const token = jwt(tokens.access_token) ? tokens.access_token : tokens.id_token;
  if (token === undefined) throw new Error('the issuer gave neither a JWT access token nor an ID token');
  return token;
}
