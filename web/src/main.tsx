// The dashboard: sign in with a token, then the on-call engineer's views. Hash routes keep it one static page.
import { StrictMode, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { asError, get, storedToken, storeToken, type Listed, type Whoami } from './api.js';
import { Problem } from './components/Bits.js';
import { completeSignIn } from './oidc.js';
import { SessionContext, useHashRoute, type Session } from './hooks.js';
import { useLiveTick } from './live.js';
import { Approvals } from './views/Approvals.js';
import { Audit } from './views/Audit.js';
import { Binding } from './views/Binding.js';
import { Builds } from './views/Builds.js';
import { Cost } from './views/Cost.js';
import { Incidents } from './views/Incidents.js';
import { Overview } from './views/Overview.js';
import { Platform } from './views/Platform.js';
import { Report } from './views/Report.js';
import { SignIn } from './views/SignIn.js';
import { Telemetry } from './views/Telemetry.js';
import './styles.css';

const views = [
  { path: '', label: 'Overview' },
  { path: 'incidents', label: 'Incidents' },
  { path: 'approvals', label: 'Approvals' },
  { path: 'platform', label: 'Platform' },
  { path: 'telemetry', label: 'Telemetry' },
  { path: 'builds', label: 'Builds' },
  { path: 'audit', label: 'Audit' },
  { path: 'cost', label: 'Cost' },
] as const;

function App() {
  const [who, setWho] = useState<Whoami | null>(null);
  const [checked, setChecked] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  useEffect(() => {
    const check = async () => {
      // Back from an OpenID Connect issuer: its token replaces any other.
      const fromIssuer = await completeSignIn();
      if (fromIssuer !== null) storeToken(fromIssuer);
      if (storedToken() === null) return null;
      return get<Whoami>('/api/v1/auth/whoami');
    };
    check().then(
      (answer) => {
        setWho(answer);
        setChecked(true);
      },
      (failure: unknown) => {
        storeToken(null);
        setError(asError(failure));
        setChecked(true);
      },
    );
  }, []);
  if (!checked) return null;
  if (who === null)
    return (
      <>
        <Problem error={error} />
        <SignIn onSignedIn={setWho} />
      </>
    );
  return (
    <Shell
      who={who}
      onSignOut={() => {
        storeToken(null);
        setWho(null);
      }}
    />
  );
}

function Shell({ who, onSignOut }: { who: Whoami; onSignOut: () => void }) {
  const route = useHashRoute();
  const [namespaces, setNamespaces] = useState<string[]>([]);
  const [namespace, setNamespace] = useState(() => localStorage.getItem('opspilot.namespace') ?? '');
  const tick = useLiveTick(namespace);
  useEffect(() => {
    get<Listed<{ metadata: { name: string } }>>('/api/v1/namespaces').then(
      (list) => {
        const names = list.items.map((item) => item.metadata.name);
        setNamespaces(names);
        setNamespace((current) =>
          names.includes(current) ? current : names.includes('shop') ? 'shop' : (names[0] ?? 'default'),
        );
      },
      () => {
        setNamespaces([]);
      },
    );
  }, []);
  const session = useMemo<Session>(
    () => ({ who, namespace, tick, signOut: onSignOut }),
    [who, namespace, tick, onSignOut],
  );
  const [first, second] = route;
  return (
    <SessionContext.Provider value={session}>
      <header className="top">
        <a className="brand" href="#/">
          opspilot
        </a>
        <nav aria-label="Views">
          {views.map((view) => (
            <a
              key={view.path}
              href={`#/${view.path}`}
              aria-current={
                (first ?? '') === view.path || (first === 'reports' && view.path === 'incidents')
                  ? 'page'
                  : undefined
              }
            >
              {view.label}
            </a>
          ))}
        </nav>
        <label className="namespace">
          Namespace{' '}
          <select
            value={namespace}
            onChange={(event) => {
              localStorage.setItem('opspilot.namespace', event.target.value);
              setNamespace(event.target.value);
            }}
          >
            {namespaces.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <span
          className="who"
          title={who.grants.map((grant) => `${grant.role} in ${JSON.stringify(grant.scope)}`).join('; ')}
        >
          {who.subject}
        </span>
        <button type="button" className="secondary small" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        {namespace === '' ? null : first === 'reports' && second !== undefined ? (
          <Report key={second} id={second} />
        ) : first === 'incidents' ? (
          <Incidents />
        ) : first === 'approvals' ? (
          <Approvals id={second} />
        ) : first === 'platform' && second !== undefined && route[2] !== undefined ? (
          <Binding key={`${namespace}/${second}/${route[2]}`} component={second} environment={route[2]} />
        ) : first === 'platform' ? (
          <Platform />
        ) : first === 'telemetry' ? (
          <Telemetry tab={second} traceId={route[2]} />
        ) : first === 'builds' ? (
          <Builds run={second} />
        ) : first === 'audit' ? (
          <Audit />
        ) : first === 'cost' ? (
          <Cost />
        ) : (
          <Overview />
        )}
      </main>
    </SessionContext.Provider>
  );
}

const root = document.getElementById('root');
if (root !== null)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
