// `opspilot flags eval NAME -e ENV [--tenant T]`: evaluates a FeatureFlag the way a component would (OFREP), to
// see which variant a context gets and why.
import type { Command } from 'commander';
import { InvalidError, NotFoundError } from '../../core/errors.js';
import { ApiError } from '../api-client.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { parseOutputFormat, renderData, table } from '../output.js';

interface EvalOptions {
  namespace: string;
  environment: string;
  component?: string;
  tenant?: string;
  output: string;
}

interface Evaluation {
  key: string;
  value: unknown;
  variant: string;
  reason: string;
  metadata: Record<string, unknown>;
}

export function registerFlags(program: Command, context: CliContext): void {
  const flags = program
    .command('flags')
    .description('Feature flags (FeatureFlag resources, served over OFREP)');
  flags
    .command('eval')
    .description('Evaluate a flag for an environment (and tenant): value, variant and reason')
    .argument('<name>', 'flag name')
    .requiredOption('-e, --environment <name>', 'environment to evaluate as')
    .option('-n, --namespace <name>', 'namespace', 'default')
    .option('--component <name>', 'component to evaluate as (matters only for scoped tokens)')
    .option('--tenant <name>', 'tenant of the evaluation context')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .addHelpText(
      'after',
      `
Examples:
  opspilot flags eval recommendation-count -n shop -e prod
  opspilot flags eval recommendation-count -n shop -e prod --tenant gold -o json`,
    )
    .action(async (name: string, options: EvalOptions) => {
      try {
        const format = parseOutputFormat(options.output, ['table', 'json', 'yaml'] as const);
        const evaluationContext = {
          namespace: options.namespace,
          environment: options.environment,
          ...(options.component === undefined ? {} : { component: options.component }),
          ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
        };
        let result: Evaluation;
        try {
          result = await context
            .client()
            .post<Evaluation>(`/ofrep/v1/evaluate/flags/${encodeURIComponent(name)}`, {
              context: evaluationContext,
            });
        } catch (error) {
          // OFREP failures are `{ key, errorCode, errorDetails }`, not problem+json.
          const details =
            error instanceof ApiError
              ? (error.problem as { errorDetails?: unknown }).errorDetails
              : undefined;
          if (typeof details === 'string') {
            const hint = { hint: `See \`opspilot get flags -n ${options.namespace}\`.` };
            if (error instanceof ApiError && error.status === 404) throw new NotFoundError(details, hint);
            throw new InvalidError(details, [], hint);
          }
          throw error;
        }
        if (format !== 'table') {
          context.out(renderData(result, format));
          return;
        }
        context.out(
          table(
            ['FLAG', 'VALUE', 'VARIANT', 'REASON'],
            [[result.key, JSON.stringify(result.value), result.variant, result.reason]],
          ),
        );
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}
