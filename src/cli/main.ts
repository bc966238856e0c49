#!/usr/bin/env node
// The opspilot command line. Every command but `up` and `config` talks to a running server over REST.
import { Command, CommanderError } from 'commander';
import { version } from '../server/package-info.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerApply } from './commands/apply.js';
import { registerBuild } from './commands/build.js';
import { registerConfig } from './commands/config.js';
import { registerDelete } from './commands/delete.js';
import { registerDescribe } from './commands/describe.js';
import { registerGet } from './commands/get.js';
import { registerGovernance } from './commands/governance.js';
import { registerRca } from './commands/rca.js';
import { registerDemo } from './commands/demo.js';
import { registerMcp } from './commands/mcp.js';
import { registerLogs } from './commands/logs.js';
import { registerTelemetry } from './commands/telemetry.js';
import { registerUp } from './commands/up.js';
import { createContext } from './context.js';
import { exitCodes } from './exit-codes.js';

// `opspilot … | head` closes the pipe early: that is the reader being done, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(exitCodes.ok);
  throw error;
});

const program = new Command('opspilot');
program
  .description(
    'opspilot: an AI-native SRE platform. Declare services, watch them run, and let AI operate them safely.',
  )
  .version(version, '-v, --version', 'print the version')
  .option(
    '--server <url>',
    'opspilot server for client commands (OPSPILOT_SERVER, default http://127.0.0.1:7400)',
  )
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    `
Quick start:
  opspilot up --demo                 run the server, the runtime and the demo services
  opspilot apply -f service.yaml     declare a component and where it runs
  opspilot get components            see what runs, with replicas, endpoints and phase
  opspilot get events                what happened (Started, Ready, BackOff, OOMKilled, …)
  opspilot proposals list            changes waiting for approval; approve with: opspilot proposals approve ID
  opspilot mcp --server control-plane   MCP on stdio for your AI assistant (docs/connect-your-ai-assistant.md)

Authentication: client commands send OPSPILOT_TOKEN, or the admin token "opspilot up" keeps in its data dir.

Exit codes: 0 ok, 1 failed, 2 invalid input, 3 server unavailable.`,
  );

const context = createContext(() => program.opts<{ server?: string }>());
registerUp(program, context);
registerApply(program, context);
registerGet(program, context);
registerDescribe(program, context);
registerDelete(program, context);
registerLogs(program, context);
registerBuild(program, context);
registerConfig(program, context);
registerAnalyze(program, context);
registerTelemetry(program, context);
registerGovernance(program, context);
registerRca(program, context);
registerDemo(program, context);
registerMcp(program, context);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; usage mistakes are invalid input.
    process.exitCode = error.exitCode === 0 ? exitCodes.ok : exitCodes.invalid;
  } else {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = exitCodes.failure;
  }
}
