// One component in one environment: replicas, events, resource usage against requests and limits, and the
// changes one can propose here (scale, restart, roll back, promote to another environment).
import { useState } from 'react';
import {
  asError,
  get,
  may,
  proposeIntent,
  type ComponentStatus,
  type Listed,
  type PlatformEvent,
} from '../api.js';
import type { ResourceUsage } from '../../../src/telemetry/query/contracts.js';
import { ago, Badge, Loading, Problem } from '../components/Bits.js';
import { format } from '../components/Chart.js';
import { useLoad, useSession } from '../hooks.js';

const mib = (bytes: number | null) => (bytes === null ? '–' : `${format(bytes / 2 ** 20)} MiB`);
const cores = (millicores: number | null) => (millicores === null ? '–' : `${format(millicores)}m`);

export function Binding({ component, environment }: { component: string; environment: string }) {
  const { namespace, who } = useSession();
  const status = useLoad(
    () =>
      get<ComponentStatus>(
        `/api/v1/namespaces/${namespace}/components/${encodeURIComponent(component)}/status`,
      ),
    [namespace, component],
  );
  const events = useLoad(
    () =>
      get<Listed<PlatformEvent>>(`/api/v1/namespaces/${namespace}/events`, {
        component,
        environment,
        limit: '50',
      }),
    [namespace, component, environment],
  );
  const usage = useLoad(
    () =>
      get<ResourceUsage>('/api/v1/telemetry/resource-usage', {
        namespace,
        component,
        environment,
        period: 'last_1h',
      }),
    [namespace, component, environment],
  );
  const [target, setTarget] = useState('');
  const [message, setMessage] = useState<string | undefined>();
  if (status.data === undefined)
    return status.error === undefined ? <Loading what="the binding" /> : <Problem error={status.error} />;
  const cell = status.data.environments.find((item) => item.environment === environment);
  const others = status.data.environments.filter((item) => item.environment !== environment);
  const observed = usage.data?.bindings.find((item) => item.environment === environment);
  const act = async (intent: 'scale' | 'restart' | 'rollback' | 'promote', body: Record<string, unknown>) => {
    try {
      const proposal = await proposeIntent(namespace, component, intent, body);
      setMessage(`${proposal.title}: ${proposal.status} (proposal ${proposal.id})`);
    } catch (failure) {
      setMessage(asError(failure).message);
    }
  };
  return (
    <>
      <h1>
        {component} in {environment}
      </h1>
      <p>
        <a href="#/platform">← all components</a>
      </p>
      {cell === undefined ? (
        <p className="muted">No binding in {environment}.</p>
      ) : (
        <>
          <p>
            <Badge tone={cell.readyReplicas >= cell.desiredReplicas ? 'ok' : 'bad'}>
              {cell.readyReplicas}/{cell.desiredReplicas} ready
            </Badge>{' '}
            {cell.phase} · release {cell.release ?? '–'} · {cell.restarts} restarts
            {cell.endpoint === null ? '' : ` · ${cell.endpoint}`}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Replica</th>
                <th scope="col">Phase</th>
                <th scope="col">Ready</th>
                <th scope="col">Restarts</th>
                <th scope="col">Revision</th>
              </tr>
            </thead>
            <tbody>
              {cell.replicas.map((replica) => (
                <tr key={replica.name}>
                  <th scope="row">{replica.name}</th>
                  <td>{replica.phase}</td>
                  <td>{replica.ready ? 'yes' : 'no'}</td>
                  <td className="num">{replica.restarts}</td>
                  <td>{replica.revision}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <section aria-labelledby="usage">
        <h2 id="usage">Resources (last hour, per replica)</h2>
        <Problem error={usage.error} />
        {observed === undefined ? (
          <p className="muted">No cpu or memory samples.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col" />
                <th scope="col">Average</th>
                <th scope="col">Peak</th>
                <th scope="col">Request</th>
                <th scope="col">Limit</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">cpu</th>
                <td className="num">{cores(observed.cpu.avgMillicores)}</td>
                <td className="num">{cores(observed.cpu.maxMillicores)}</td>
                <td className="num">{cores(observed.cpu.requestMillicores)}</td>
                <td className="num">{cores(observed.cpu.limitMillicores)}</td>
              </tr>
              <tr>
                <th scope="row">memory</th>
                <td className="num">{mib(observed.memory.avgBytes)}</td>
                <td className="num">{mib(observed.memory.maxBytes)}</td>
                <td className="num">{mib(observed.memory.requestBytes)}</td>
                <td className="num">
                  {mib(observed.memory.limitBytes)}
                  {observed.memory.utilizationOfLimit === null
                    ? ''
                    : ` (peak ${Math.round(observed.memory.utilizationOfLimit * 100)}%)`}
                </td>
              </tr>
            </tbody>
          </table>
        )}
      </section>
      {cell !== undefined && (
        <section aria-labelledby="changes">
          <h2 id="changes">Propose a change</h2>
          <div className="filters">
            {may(who, 'component.scale', namespace) && (
              <>
                <button
                  type="button"
                  onClick={() => {
                    void act('scale', { environment, replicas: Math.max(0, cell.desiredReplicas - 1) });
                  }}
                >
                  Scale to {Math.max(0, cell.desiredReplicas - 1)}
                </button>
                <button
                  type="button"
                  onClick={() => {
                    void act('scale', { environment, replicas: cell.desiredReplicas + 1 });
                  }}
                >
                  Scale to {cell.desiredReplicas + 1}
                </button>
              </>
            )}
            {may(who, 'component.restart', namespace) && (
              <button
                type="button"
                onClick={() => {
                  void act('restart', { environment });
                }}
              >
                Restart
              </button>
            )}
            {may(who, 'component.rollback', namespace) && (
              <button
                type="button"
                onClick={() => {
                  void act('rollback', { environment });
                }}
              >
                Roll back
              </button>
            )}
            {may(who, 'release.promote', namespace) && others.length > 0 && (
              <>
                <label>
                  Promote to{' '}
                  <select
                    value={target}
                    onChange={(event) => {
                      setTarget(event.target.value);
                    }}
                  >
                    <option value="">choose…</option>
                    {others.map((item) => (
                      <option key={item.environment}>{item.environment}</option>
                    ))}
                  </select>
                </label>
                <button
                  type="button"
                  disabled={target === ''}
                  onClick={() => {
                    void act('promote', { from: environment, to: target });
                  }}
                >
                  Promote
                </button>
              </>
            )}
          </div>
          {message !== undefined && <p role="status">{message}</p>}
        </section>
      )}
      <section aria-labelledby="events">
        <h2 id="events">Events</h2>
        <Problem error={events.error} />
        <ul className="rows">
          {(events.data?.items ?? []).map((event) => (
            <li key={`${event.reason}-${event.lastTimestamp}-${event.replica ?? ''}`}>
              <Badge tone={event.type === 'Warning' ? 'warn' : 'muted'}>{event.reason}</Badge>
              {event.count > 1 ? ` ×${event.count}` : ''} {event.message}{' '}
              <span className="muted">{ago(event.lastTimestamp)}</span>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
