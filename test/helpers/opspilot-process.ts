// Runs the built CLI as users do: `opspilot up` as a real server process, and client commands against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface RunningServer {
  readonly process: ChildProcess;
  readonly url: string;
  /** The platform-admin token `opspilot up` printed and keeps in its data dir. */
  readonly token: string;
  /** Headers with that token, for fetch. */
  readonly headers: Record<string, string>;
  /** Base URL of the OTLP receiver. */
  readonly otlp: string;
  output(): string;
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Admin tokens by server URL, so that runCli authenticates like a user on the server's machine. */
const tokens = new Map<string, string>();

/** One OTLP port per data dir: a restarted server must offer replicas the same endpoint, or they roll out. */
const otlpPorts = new Map<string, number>();

export async function startServer(options: {
  dataDir: string;
  env?: Record<string, string>;
  args?: readonly string[];
  /** Start it as the README does, `npm start` (which runs `opspilot up --demo`): `args` must not repeat those. */
  npmStart?: boolean;
}): Promise<RunningServer> {
  let otlpPort = otlpPorts.get(options.dataDir);
  if (otlpPort === undefined) {
    otlpPort = await freePort();
    otlpPorts.set(options.dataDir, otlpPort);
  }
  const args = [
    ...(options.npmStart === true ? [] : ['up']),
    '--data-dir',
    options.dataDir,
    '--port',
    '0',
    '--otlp-port',
    String(otlpPort),
    ...(options.args ?? []),
  ];
  const env = { ...process.env, OPSPILOT_LOG_FORMAT: 'json', ...options.env };
  const child =
    options.npmStart === true
      ? spawn('npm', ['start', '--silent', '--', ...args], {
          cwd: fileURLToPath(new URL('../..', import.meta.url)),
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(process.execPath, [cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Do not leave a half-started server behind the failed test.
      child.kill('SIGKILL');
      reject(new Error(`opspilot up did not start:\n${output}`));
    }, 30_000);
    const check = (): void => {
      const match = /API\s+(http:\/\/[^\s/]+)\/api\/v1/.exec(output);
      const token = /export OPSPILOT_TOKEN=(\S+)/.exec(output);
      if (match?.[1] !== undefined && token?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ url: match[1], token: token[1] });
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`opspilot up exited with ${code}:\n${output}`));
    });
  });
  tokens.set(url, token);
  return {
    process: child,
    url,
    token,
    headers: { authorization: `Bearer ${token}` },
    otlp: `http://127.0.0.1:${otlpPort}`,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: readonly string[],
  options: { server?: string; input?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd,
      env: {
        ...process.env,
        ...(options.server === undefined ? {} : { OPSPILOT_SERVER: options.server }),
        ...(options.server !== undefined && tokens.has(options.server)
          ? { OPSPILOT_TOKEN: tokens.get(options.server) }
          : {}),
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.end(options.input ?? '');
    child.once('exit', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}
