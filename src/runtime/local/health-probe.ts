// Readiness probes: an HTTP GET that must answer 2xx/3xx, or a TCP connect when no path is declared.
import { request } from 'node:http';
import { connect } from 'node:net';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

export function probeHttp(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(
          status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `HTTP ${status} from ${path}` },
        );
      },
    );
    req.once('timeout', () => {
      req.destroy();
      resolve({ ok: false, reason: `no answer from ${path} within ${timeoutMs} ms` });
    });
    req.once('error', (error: NodeJS.ErrnoException) => {
      resolve({ ok: false, reason: `${path}: ${error.code ?? error.message}` });
    });
    req.end();
  });
}

export function probeTcp(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, reason: `tcp connect to port ${port} timed out` });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve({ ok: false, reason: `tcp connect to port ${port}: ${error.code ?? error.message}` });
    });
  });
}
