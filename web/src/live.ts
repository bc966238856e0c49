// Live updates: the server's event stream (GET /api/v1/stream, server-sent events over fetch so that the bearer
// token goes along) bumps a tick on every change in the namespace; views reload on it. A dropped stream is
// opened again after a pause (and the views reload, since changes may have been missed); a refused one (the
// token expired, no right to read the namespace) is not retried.
import { useEffect, useState } from 'react';
import { headers, readEvents } from './api.js';

/** Bursts of changes (a rollout, a crash loop) become at most one reload per this many ms. */
const reloadEveryMs = 1000;
const retryAfterMs = 3000;

export function useLiveTick(namespace: string): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (namespace === '') return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pending = false;
    const bump = () => {
      if (pending) return;
      pending = true;
      timer = setTimeout(() => {
        pending = false;
        setTick((value) => value + 1);
      }, reloadEveryMs);
    };
    const stopped = () => controller.signal.aborted;
    const connect = async (): Promise<void> => {
      let first = true;
      while (!stopped()) {
        try {
          const response = await fetch(`/api/v1/stream?namespace=${encodeURIComponent(namespace)}`, {
            headers: headers({ accept: 'text/event-stream' }),
            signal: controller.signal,
          });
          if (response.status === 401 || response.status === 403) return;
          if (response.ok && response.body !== null) {
            if (!first) bump();
            first = false;
            for await (const { event } of readEvents(response.body)) if (event !== 'ping') bump();
          }
        } catch {
          // aborted, or the server went away: retry below
        }
        if (!stopped()) await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
      }
    };
    void connect();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [namespace]);
  return tick;
}
