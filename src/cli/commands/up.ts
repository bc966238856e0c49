// `opspilot up`: runs the API, the runtime and the reconciler in this process until SIGINT/SIGTERM.
import { join } from 'node:path';
import type { Command } from 'commander';
import { inheritedEnvironment, loadConfig } from '../../config/load-config.js';
import { createLogger } from '../../core/logger.js';
import type { EnvironmentStatus } from '../../platform/contracts.js';
import { createOpspilot, type Opspilot } from '../../server/opspilot-server.js';
import { version } from '../../server/package-info.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { table } from '../output.js';

interface UpOptions {
  otlpPort?: string;
  config?: string;
  dataDir?: string;
  port?: string;
  host?: string;
  demo?: boolean;
}

export function registerUp(program: Command, context: CliContext): void {
  program
    .command('up')
    .description(
      'Run the opspilot server: REST API, local runtime and reconciler (Ctrl-C stops all replicas)',
    )
    .option('--config <file>', 'config file (default: ./opspilot.yaml when present, or OPSPILOT_CONFIG)')
    .option(
      '--data-dir <dir>',
      'where state, runtime records and captured output live (OPSPILOT_DATA_DIR, default ./.opspilot)',
    )
    .option('--port <port>', 'API port (OPSPILOT_PORT, default 7400)')
    .option('--host <address>', 'API address (OPSPILOT_HOST, default 127.0.0.1)')
    .option('--otlp-port <port>', 'OTLP/HTTP receiver port (OPSPILOT_OTLP_PORT, default 4318)')
    .option('--demo', 'also apply the demo services in demo/*.yaml and print their URLs')
    .addHelpText(
      'after',
      `
Restarting "opspilot up" with the same data dir re-adopts the replicas a previous run left running (or
replaces them), so nothing is orphaned. One "opspilot up" per data dir.

Replicas and build steps never run with this server's privileges: as root each workload (and each
component's builds) runs as an unprivileged uid of its own, otherwise inside bubblewrap without the data dir
(runtime.local.isolation; see docs/runtime.md).`,
    )
    .action(async (options: UpOptions) => {
      let opspilot: Opspilot | undefined;
      try {
        const config = loadConfig({
          overrides: {
            configFile: options.config,
            dataDir: options.dataDir,
            port: options.port,
            host: options.host,
            otlpPort: options.otlpPort,
          },
        });
        const logger = createLogger(config.log);
        // Everything this process writes (tokens, keys, SQLite and DuckDB files, captured output) is for its
        // own user only. Replicas and build steps get the usual 022 back (src/runtime/local/isolation.ts).
        process.umask(0o077);
        opspilot = await createOpspilot({
          config,
          logger,
          baseEnv: inheritedEnvironment(),
          demo: options.demo === true,
        });
        const running = opspilot;
        let stoppingSince: number | undefined;
        const stop = (signal: string): void => {
          if (stoppingSince !== undefined) {
            // npm and the terminal may both deliver one Ctrl-C; only a later, deliberate second one forces exit.
            if (Date.now() - stoppingSince < 1000) return;
            context.err(`${signal} again: exiting without waiting for replicas to stop\n`);
            process.exit(130);
          }
          stoppingSince = Date.now();
          context.err(`\n${signal}: stopping all replicas…\n`);
          running.stop().then(
            () => process.exit(0),
            (error: unknown) => {
              logger.error({ err: error }, 'shutdown failed');
              process.exit(1);
            },
          );
        };
        process.on('SIGINT', () => {
          stop('SIGINT');
        });
        process.on('SIGTERM', () => {
          stop('SIGTERM');
        });

        const url = await opspilot.start();
        context.out(
          `opspilot ${version} is up\n` +
            `  Dashboard  ${url}/   (sign in with the token below)\n` +
            `  API        ${url}/api/v1   (OpenAPI ${url}/api/v1/openapi.json)\n` +
            `  OTLP       ${opspilot.telemetry.otlpEndpoint ?? 'disabled'}   (/v1/traces, /v1/metrics, /v1/logs; protobuf or JSON)\n` +
            `  data dir   ${config.dataDir}\n` +
            `  state      ${config.state.url === undefined ? 'sqlite (state.db in the data dir)' : 'postgresql'}\n` +
            `  runtime    ${config.runtime.kind}\n` +
            `  MCP        ${url}/mcp/control-plane   ${url}/mcp/observability   (Streamable HTTP)\n`,
        );
        if (config.auth.printAdminToken) {
          const admin = await opspilot.adminToken();
          context.out(
            `\nAdmin token (platform-admin, expires ${admin.expiresAt}; also in ${join(config.dataDir, 'auth', 'admin.token')}):\n` +
              `  export OPSPILOT_TOKEN=${admin.token}\n` +
              `\nConnect an AI assistant (more in docs/connect-your-ai-assistant.md):\n` +
              `  claude mcp add --transport http opspilot-control-plane ${url}/mcp/control-plane --header "Authorization: Bearer $OPSPILOT_TOKEN"\n` +
              `  claude mcp add --transport http opspilot-observability ${url}/mcp/observability --header "Authorization: Bearer $OPSPILOT_TOKEN"\n` +
              `  # stdio, any client:  opspilot mcp --server control-plane   (reads OPSPILOT_TOKEN)\n` +
              `  # a project's .mcp.json (Claude Code); Cursor, VS Code, Codex and Gemini: see the doc above\n` +
              `  ${JSON.stringify({ mcpServers: { 'opspilot-control-plane': { type: 'http', url: `${url}/mcp/control-plane`, headers: { Authorization: 'Bearer ${OPSPILOT_TOKEN}' } } } })}\n\n`,
          );
        }
        if (options.demo === true) await startDemo(opspilot, context, config.demo.printUrls);
      } catch (error) {
        process.exitCode = reportError(error, context.err);
        await opspilot?.stop().catch(() => undefined);
      }
    });
}

async function startDemo(opspilot: Opspilot, context: CliContext, printUrls: boolean): Promise<void> {
  const { files, changed, bindings } = await opspilot.installDemo(printUrls ? 60_000 : 0);
  context.out(`demo: applied ${files} file(s), ${changed} change(s)\n`);
  if (!printUrls) return;
  const rows = bindings.map((binding) => {
    const status = binding.status as EnvironmentStatus | undefined;
    return [
      binding.metadata.namespace ?? '',
      (binding.spec as { component: string }).component,
      status?.environment ?? '-',
      `${status?.readyReplicas ?? 0}/${status?.desiredReplicas ?? 0}`,
      status?.phase ?? '-',
      status?.endpoint ?? '-',
    ];
  });
  context.out(`\n${table(['NAMESPACE', 'COMPONENT', 'ENV', 'READY', 'PHASE', 'ENDPOINT'], rows)}`);
  context.out(
    '\nTry: opspilot get components -n shop   ·   opspilot demo faults   ·   opspilot rca list   ·   Ctrl-C to stop\n',
  );
}
