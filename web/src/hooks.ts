// Small hooks the views share: the current hash route, and data that reloads when the server says something
// changed (live updates) or its inputs change.
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { asError, type Whoami } from './api.js';

export function useHashRoute(): string[] {
  const read = () =>
    window.location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter((part) => part !== '')
      .map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => {
      setRoute(read());
    };
    window.addEventListener('hashchange', update);
    return () => {
      window.removeEventListener('hashchange', update);
    };
  }, []);
  return route;
}

export interface Session {
  readonly who: Whoami;
  readonly namespace: string;
  /** Bumps whenever the server reports a change (alerts, reports, proposals, status). */
  readonly tick: number;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside the signed-in app');
  return session;
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly loading: boolean;
}

/** Runs `load` when `deps` change and on every live tick; keeps the last data while a tick reloads it. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const { tick } = useSession();
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: undefined, loading: true });
  // Data of other inputs (another proposal, another namespace) is never shown while the new data loads.
  const inputs = useRef('');
  useEffect(() => {
    let current = true;
    const key = JSON.stringify(deps);
    const changed = key !== inputs.current;
    inputs.current = key;
    setState((previous) =>
      changed ? { data: undefined, error: undefined, loading: true } : { ...previous, loading: true },
    );
    load().then(
      (data) => {
        if (current) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (current)
          setState((previous) => ({
            data: previous.data,
            error: asError(error),
            loading: false,
          }));
      },
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  return state;
}
