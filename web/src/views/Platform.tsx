// Projects → components × environments: the release each binding runs, ready/desired replicas, health and
// endpoint; scale, restart and roll back as proposals (they run at once only where guardrails allow).
import { useState } from 'react';
import {
  asError,
  get,
  may,
  proposeIntent,
  type ComponentResource,
  type ComponentStatus,
  type Listed,
} from '../api.js';
import { Badge, Loading, Problem } from '../components/Bits.js';
import { useLoad, useSession } from '../hooks.js';

type EnvironmentStatus = ComponentStatus['environments'][number];

export function Platform() {
  const { namespace } = useSession();
  const matrix = useLoad(async () => {
    const [components, environments] = await Promise.all([
      get<Listed<ComponentResource>>(`/api/v1/namespaces/${namespace}/components`),
      get<Listed<{ metadata: { name: string }; spec: { production?: boolean } }>>('/api/v1/environments'),
    ]);
    const statuses = await Promise.all(
      components.items.map((component) =>
        get<ComponentStatus>(
          `/api/v1/namespaces/${namespace}/components/${component.metadata.name}/status`,
        ).catch(() => undefined),
      ),
    );
    return {
      environments: environments.items.map((item) => item.metadata.name),
      rows: components.items.map((component, index) => ({ component, status: statuses[index] })),
    };
  }, [namespace]);
  if (matrix.data === undefined)
    return matrix.error === undefined ? <Loading what="the platform" /> : <Problem error={matrix.error} />;
  const byProject = new Map<string, typeof matrix.data.rows>();
  for (const row of matrix.data.rows) {
    const project = row.component.metadata.project ?? '(no project)';
    byProject.set(project, [...(byProject.get(project) ?? []), row]);
  }
  const environments = matrix.data.environments;
  return (
    <>
      <h1>Platform: {namespace}</h1>
      <Problem error={matrix.error} />
      {[...byProject.entries()].map(([project, rows]) => (
        <section key={project} aria-labelledby={`project-${project}`}>
          <h2 id={`project-${project}`}>{project}</h2>
          <table className="matrix">
            <thead>
              <tr>
                <th scope="col">Component</th>
                {environments.map((environment) => (
                  <th scope="col" key={environment}>
                    {environment}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map(({ component, status }) => (
                <tr key={component.metadata.name}>
                  <th scope="row">{component.metadata.name}</th>
                  {environments.map((environment) => {
                    const cell = status?.environments.find((item) => item.environment === environment);
                    return (
                      <td key={environment} data-testid={`cell-${component.metadata.name}-${environment}`}>
                        {cell === undefined ? (
                          <span className="muted">–</span>
                        ) : (
                          <Cell component={component.metadata.name} cell={cell} />
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </>
  );
}

function Cell({ component, cell }: { component: string; cell: EnvironmentStatus }) {
  const { who, namespace } = useSession();
  const [message, setMessage] = useState<string | undefined>();
  const healthy =
    cell.state === 'Undeploy' ||
    (cell.readyReplicas >= cell.desiredReplicas &&
      cell.phase !== 'CrashLoopBackOff' &&
      cell.phase !== 'Degraded');
  const act = async (intent: 'scale' | 'restart' | 'rollback', body: Record<string, unknown>) => {
    try {
      const proposal = await proposeIntent(namespace, component, intent, {
        environment: cell.environment,
        ...body,
      });
      setMessage(`${proposal.title}: ${proposal.status}`);
    } catch (failure) {
      setMessage(asError(failure).message);
    }
  };
  return (
    <div className="cell">
      <a
        href={`#/platform/${component}/${cell.environment}`}
        aria-label={`${component} in ${cell.environment}`}
      >
        <Badge tone={cell.state === 'Undeploy' ? 'muted' : healthy ? 'ok' : 'bad'}>
          {cell.state === 'Undeploy' ? 'undeployed' : `${cell.readyReplicas}/${cell.desiredReplicas} ready`}
        </Badge>
      </a>
      <div className="muted">{cell.release ?? 'no release'}</div>
      {cell.endpoint !== null && <div className="muted">{cell.endpoint}</div>}
      {cell.message !== null && !healthy && <div className="muted">{cell.message}</div>}
      {cell.state === 'Active' && (
        <div className="actions">
          {may(who, 'component.scale', namespace) && (
            <button
              type="button"
              className="small"
              aria-label={`scale ${component} in ${cell.environment} to ${cell.desiredReplicas + 1} replicas`}
              onClick={() => {
                void act('scale', { replicas: cell.desiredReplicas + 1 });
              }}
            >
              +1
            </button>
          )}
          {may(who, 'component.restart', namespace) && (
            <button
              type="button"
              className="small"
              aria-label={`restart ${component} in ${cell.environment}`}
              onClick={() => {
                void act('restart', {});
              }}
            >
              restart
            </button>
          )}
          {may(who, 'component.rollback', namespace) && (
            <button
              type="button"
              className="small"
              aria-label={`roll ${component} back in ${cell.environment}`}
              onClick={() => {
                void act('rollback', {});
              }}
            >
              rollback
            </button>
          )}
        </div>
      )}
      {message !== undefined && <div className="note">{message}</div>}
    </div>
  );
}
