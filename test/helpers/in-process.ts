// A real opspilot server in the test's own process (state in a temporary data dir, ports chosen by the OS), for
// tests that need its internals as well as its HTTP edges.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { inheritedEnvironment, loadConfig } from '../../src/config/load-config.js';
import { createOpspilot, type Opspilot } from '../../src/server/opspilot-server.js';

export interface InProcessServer {
  readonly opspilot: Opspilot;
  readonly url: string;
  readonly workspace: string;
  close(): Promise<void>;
}

/**
 * `env` holds OPSPILOT_* settings; `options.configYaml` becomes the server's opspilot.yaml; `options.port` fixes
 * the API port (0: the OS picks). TEST_LOG=info shows the server's log.
 */
export async function startInProcess(
  env: Record<string, string> = {},
  options: { configYaml?: string; port?: number } = {},
): Promise<InProcessServer> {
  const workspace = mkdtempSync(join(tmpdir(), 'opspilot-test-'));
  if (options.configYaml !== undefined) writeFileSync(join(workspace, 'opspilot.yaml'), options.configYaml);
  const config = loadConfig({
    cwd: workspace,
    env,
    overrides: { dataDir: join(workspace, 'data'), port: options.port ?? 0, otlpPort: 0 },
  });
  const opspilot = await createOpspilot({
    config,
    logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
    baseEnv: inheritedEnvironment(),
  });
  const url = await opspilot.start();
  return {
    opspilot,
    url,
    workspace,
    async close() {
      await opspilot.stop();
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}
