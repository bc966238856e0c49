// Structured logs (pino). Pretty output for a person at a terminal, JSON lines for shippers.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'pretty' | 'json';
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: undefined,
    redact: { paths: ['*.password', '*.token', '*.secret', 'headers.authorization'], censor: '***' },
  };
  if (options.format === 'json') {
    return options.destination ? pino(base, options.destination) : pino(base);
  }
  const stream = pretty({
    colorize: options.destination === undefined && process.stdout.isTTY,
    translateTime: 'HH:MM:ss',
    // `[12:00:01] INFO: echo@dev echo-dev-x7k2p  Started …`: the workload first, the rest as JSON.
    ignore: 'pid,hostname,component,reason,workload',
    messageFormat: '{if workload}{workload}  {end}{msg}',
    singleLine: true,
    sync: true,
    ...(options.destination ? { destination: options.destination } : {}),
  });
  return pino(base, stream);
}
