// `opspilot config print`: the effective configuration after file, environment and flags, secrets masked.
import type { Command } from 'commander';
import { loadConfig, redactConfig } from '../../config/load-config.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { renderData } from '../output.js';

interface ConfigOptions {
  config?: string;
  dataDir?: string;
  port?: string;
  output: string;
}

export function registerConfig(program: Command, context: CliContext): void {
  const config = program.command('config').description('Inspect configuration');
  config
    .command('print')
    .description(
      'Print the effective configuration (defaults < opspilot.yaml < OPSPILOT_* < flags), secrets masked',
    )
    .option('--config <file>', 'config file (default: ./opspilot.yaml when present, or OPSPILOT_CONFIG)')
    .option('--data-dir <dir>', 'data directory (OPSPILOT_DATA_DIR)')
    .option('--port <port>', 'API port (OPSPILOT_PORT)')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action((options: ConfigOptions) => {
      try {
        const effective = loadConfig({
          overrides: { configFile: options.config, dataDir: options.dataDir, port: options.port },
        });
        context.out(renderData(redactConfig(effective), options.output === 'json' ? 'json' : 'yaml'));
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}
