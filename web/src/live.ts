// Live updates: the server's event stream (GET /api/v1/stream, server-sent events over fetch so that the bearer
// token goes along) bumps a tick on every change in the namespace; views reload on it. If the stream drops, it
// reconnects after a pause.
import { useEffect, useState } from 'react';
import { storedToken } from './api.js';

export function useLiveTick(namespace: string): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (namespace === '') return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pending = false;
    // Bursts of changes (a rollout) become one reload per half second.
    const bump = () => {
      if (pending) return;
      pending = true;
      timer = setTimeout(() => {
        pending = false;
        setTick((value) => value + 1);
      }, 500);
    };
    const stopped = () => controller.signal.aborted;
    const connect = async (): Promise<void> => {
      while (!stopped()) {
        try {
          const token = storedToken();
          const response = await fetch(`/api/v1/stream?namespace=${encodeURIComponent(namespace)}`, {
            headers: {
              accept: 'text/event-stream',
              ...(token === null ? {} : { authorization: `Bearer ${token}` }),
            },
            signal: controller.signal,
          });
          if (response.ok && response.body !== null) {
            const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              if (/^event: (?!ping)/m.test(value)) bump();
            }
          }
        } catch {
          // aborted, or the server went away: retry below
        }
        if (!stopped()) await new Promise((resolve) => setTimeout(resolve, 3000));
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
