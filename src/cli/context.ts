// What every command gets: the API client (built from --server / OPSPILOT_SERVER), output streams, stdin.
import { readFileSync } from 'node:fs';
import { loadClientConfig } from '../config/load-config.js';
import { ApiClient } from './api-client.js';

export interface CliContext {
  readonly client: () => ApiClient;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly readStdin: () => string;
}

export function createContext(globalOptions: () => { server?: string }): CliContext {
  return {
    client: () => {
      const config = loadClientConfig({ server: globalOptions().server });
      return new ApiClient(config.server, config.token);
    },
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    readStdin: () => readFileSync(0, 'utf8'),
  };
}
