// Build workflow runs: phase and steps, the output of a run, and a failed run compared with the last good one
// (changed inputs, steps that ended differently, the first differing output line).
import { get, type Listed } from '../api.js';
import type { WorkflowComparison } from '../../../src/platform/contracts.js';
import type { WorkflowRunSpec, WorkflowRunStatus } from '../../../src/platform/resource-kinds.js';
import { ago, Badge, Loading, Problem } from '../components/Bits.js';
import { useLoad, useSession } from '../hooks.js';

interface Run {
  metadata: { name: string; createdAt: string };
  spec: WorkflowRunSpec;
  status: WorkflowRunStatus | null;
}

interface LogLine {
  sequence: number;
  step: string;
  stream: string;
  line: string;
}

const tone = (phase: string | undefined) =>
  phase === 'Succeeded' ? 'ok' : phase === 'Failed' ? 'bad' : phase === 'Running' ? 'info' : 'muted';

export function Builds({ run }: { run: string | undefined }) {
  const { namespace } = useSession();
  const runs = useLoad(() => get<Listed<Run>>(`/api/v1/namespaces/${namespace}/workflowruns`), [namespace]);
  const items = [...(runs.data?.items ?? [])].sort((a, b) =>
    b.metadata.createdAt.localeCompare(a.metadata.createdAt),
  );
  return (
    <>
      <h1>Builds</h1>
      <Problem error={runs.error} />
      {run !== undefined && <RunDetail name={run} />}
      {items.length === 0 && runs.data !== undefined && (
        <p className="muted">No build runs in {namespace}.</p>
      )}
      <table className="runs">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Builds</th>
            <th scope="col">Phase</th>
            <th scope="col">Started</th>
            <th scope="col">Release</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.metadata.name}>
              <td>
                <a href={`#/builds/${item.metadata.name}`}>{item.metadata.name}</a>
              </td>
              <td>
                {item.spec.component ?? item.spec.workflow}{' '}
                {Object.keys(item.spec.parameters).length > 0 && (
                  <span className="muted">{JSON.stringify(item.spec.parameters)}</span>
                )}
              </td>
              <td>
                <Badge tone={tone(item.status?.phase)}>{item.status?.phase ?? 'Pending'}</Badge>
              </td>
              <td>{ago(item.status?.startedAt ?? item.metadata.createdAt)}</td>
              <td>{item.status?.release ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function RunDetail({ name }: { name: string }) {
  const { namespace } = useSession();
  const run = useLoad(
    () => get<Run>(`/api/v1/namespaces/${namespace}/workflowruns/${encodeURIComponent(name)}`),
    [namespace, name],
  );
  const logs = useLoad(
    () =>
      get<{ lines: LogLine[] }>(
        `/api/v1/namespaces/${namespace}/workflowruns/${encodeURIComponent(name)}/logs`,
        {
          limit: '2000',
        },
      ),
    [namespace, name],
  );
  const failed = run.data?.status?.phase === 'Failed';
  const comparison = useLoad(
    () =>
      failed
        ? get<WorkflowComparison>(
            `/api/v1/namespaces/${namespace}/workflowruns/${encodeURIComponent(name)}/compare`,
          )
        : Promise.resolve(undefined),
    [namespace, name, failed],
  );
  if (run.data === undefined)
    return run.error === undefined ? <Loading what="the run" /> : <Problem error={run.error} />;
  const status = run.data.status;
  return (
    <section aria-labelledby="run" className="run">
      <h2 id="run">
        {name} <Badge tone={tone(status?.phase)}>{status?.phase ?? 'Pending'}</Badge>
      </h2>
      {status?.message !== null && status?.message !== undefined && <p>{status.message}</p>}
      <ol className="rows">
        {(status?.steps ?? []).map((step) => (
          <li key={step.name}>
            <Badge tone={tone(step.phase)}>{step.phase}</Badge> {step.name}
            {step.exitCode === null ? '' : ` (exit ${step.exitCode})`}
            {step.error === null ? '' : ` — ${step.error}`}
          </li>
        ))}
      </ol>
      {comparison.data !== undefined && (
        <div className="comparison" aria-label="compared with the last good run">
          <h3>Compared with {comparison.data.baseline ?? 'no earlier successful run'}</h3>
          {comparison.data.note !== null && <p className="muted">{comparison.data.note}</p>}
          {comparison.data.changedInputs.length > 0 && (
            <ul className="rows">
              {comparison.data.changedInputs.map((input) => (
                <li key={input.field}>
                  input <code>{input.field}</code>:{' '}
                  <span className="before">{JSON.stringify(input.before)}</span> →{' '}
                  <span className="after">{JSON.stringify(input.after)}</span>
                </li>
              ))}
            </ul>
          )}
          {comparison.data.firstDifferences.map((difference) => (
            <p key={difference.step}>
              step {difference.step}, first differing line: <code>{difference.failed ?? '(none)'}</code>
              {difference.baseline === null ? (
                ''
              ) : (
                <>
                  {' '}
                  (was <code>{difference.baseline}</code>)
                </>
              )}
            </p>
          ))}
        </div>
      )}
      <Problem error={logs.error ?? comparison.error} />
      <pre className="output" aria-label="run output">
        {(logs.data?.lines ?? []).map((line) => `[${line.step}] ${line.line}`).join('\n')}
      </pre>
    </section>
  );
}
