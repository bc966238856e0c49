// Sign in with a bearer token (`opspilot token create …`, or the admin token `opspilot up` prints).
import { useEffect, useState, type SyntheticEvent } from 'react';
import { asError, get, storeToken, type Whoami } from '../api.js';
import { Problem } from '../components/Bits.js';
import { beginSignIn, type OidcIssuer } from '../oidc.js';

export function SignIn({ onSignedIn }: { onSignedIn: (who: Whoami) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const [issuers, setIssuers] = useState<OidcIssuer[]>([]);
  useEffect(() => {
    get<{ issuers: OidcIssuer[] }>('/api/v1/auth/config').then(
      (config) => {
        setIssuers(config.issuers);
      },
      () => {
        setIssuers([]);
      },
    );
  }, []);
  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setBusy(true);
    storeToken(token.trim());
    try {
      onSignedIn(await get<Whoami>('/api/v1/auth/whoami'));
    } catch (failure) {
      storeToken(null);
      setError(asError(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <h1>opspilot</h1>
      {issuers.map((issuer) => (
        <p key={issuer.issuer}>
          <button
            type="button"
            onClick={() => {
              beginSignIn(issuer).catch((failure: unknown) => {
                setError(asError(failure));
              });
            }}
          >
            Sign in with {issuer.name}
          </button>
        </p>
      ))}
      {issuers.length > 0 && <p className="muted">or with a token:</p>}
      <form
        onSubmit={(event) => {
          void submit(event);
        }}
      >
        <label htmlFor="token">Access token</label>
        <textarea
          id="token"
          rows={4}
          value={token}
          onChange={(event) => {
            setToken(event.target.value);
          }}
          placeholder="eyJhbGciOiJFUzI1NiIs…"
          autoFocus
          required
        />
        <p className="muted">
          Create one with <code>opspilot token create --subject you --role viewer</code>;{' '}
          <code>opspilot up</code> prints an admin token at start.
        </p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
        <Problem error={error} />
      </form>
    </main>
  );
}
