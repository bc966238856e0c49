// The shop's build step (spec.build of email): checks and "compiles" the service's source. SOURCE (a WorkflowRun
// parameter) names it; fault `build-failure` passes a path that does not exist.
import { existsSync, readFileSync } from 'node:fs';

const source = process.env.SOURCE ?? `${process.env.OPSPILOT_COMPONENT ?? 'email'}.mjs`;
console.log(`build ${process.env.OPSPILOT_WORKFLOW_RUN ?? ''}: compiling ${source}`);
if (!existsSync(source)) {
  console.error(`error: cannot find ${source} (looked in ${process.cwd()})`);
  process.exit(1);
}
console.log(`${readFileSync(source, 'utf8').split('\n').length} lines checked`);
console.log('build ok');
