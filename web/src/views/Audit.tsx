// The audit log: who did what to what, with the decision and its reasons; filter by principal, action, target
// and time; verify that the keyed chain and its signed checkpoints hold.
import { useState } from 'react';
import { asError, get, type Listed } from '../api.js';
import { Badge, Problem } from '../components/Bits.js';
import { useLoad, useSession } from '../hooks.js';

interface AuditRecord {
  seq: number;
  at: string;
  principal: string;
  edge: string;
  client: string;
  action: string;
  namespace: string;
  target: string;
  decision: string;
  reasons: string[];
  result: string;
  latencyMs: number;
}

interface Verify {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string } | null;
  firstBroken: { seq: number; id: string; problem: string } | null;
  problems: string[];
  checkpoints: { latest: { seq: number; at: string } | null; newerRecords: number };
}

interface Filter {
  principal: string;
  action: string;
  target: string;
  since: string;
  until: string;
}

const empty: Filter = { principal: '', action: '', target: '', since: '', until: '' };

export function Audit() {
  const { namespace } = useSession();
  const [draft, setDraft] = useState<Filter>(empty);
  const [filter, setFilter] = useState<Filter>(empty);
  const [verify, setVerify] = useState<Verify | undefined>();
  const [verifyError, setVerifyError] = useState<Error | undefined>();
  const records = useLoad(
    () =>
      get<Listed<AuditRecord>>('/api/v1/audit', {
        namespace,
        principal: filter.principal || undefined,
        action: filter.action || undefined,
        target: filter.target || undefined,
        since: filter.since === '' ? undefined : new Date(filter.since).toISOString(),
        until: filter.until === '' ? undefined : new Date(filter.until).toISOString(),
        limit: '200',
      }),
    [namespace, filter],
  );
  const field = (name: keyof Filter, label: string, type = 'text') => (
    <label>
      {label}{' '}
      <input
        type={type}
        value={draft[name]}
        onChange={(event) => {
          setDraft({ ...draft, [name]: event.target.value });
        }}
      />
    </label>
  );
  return (
    <>
      <h1>Audit log</h1>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter(draft);
        }}
      >
        {field('principal', 'Principal')}
        {field('action', 'Action')}
        {field('target', 'Target')}
        {field('since', 'Since', 'datetime-local')}
        {field('until', 'Until', 'datetime-local')}
        <button type="submit">Filter</button>
      </form>
      <p>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setVerifyError(undefined);
            get<Verify>('/api/v1/audit/verify').then(setVerify, (error: unknown) => {
              setVerifyError(asError(error));
            });
          }}
        >
          Verify chain
        </button>{' '}
        {verify !== undefined && (
          <span role="status">
            {verify.ok ? <Badge tone="ok">chain ok</Badge> : <Badge tone="bad">chain broken</Badge>}{' '}
            {verify.checked} records checked
            {verify.head === null ? '' : `, head #${verify.head.seq} ${verify.head.hash.slice(0, 12)}…`}
            {verify.checkpoints.latest === null
              ? ', no checkpoint'
              : `, checkpoint #${verify.checkpoints.latest.seq} (${verify.checkpoints.newerRecords} newer)`}
            {verify.problems.length > 0 && (
              <ul>
                {verify.problems.map((problem) => (
                  <li key={problem}>{problem}</li>
                ))}
              </ul>
            )}
          </span>
        )}
      </p>
      <Problem error={verifyError ?? records.error} />
      <table className="audit">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Principal</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Decision</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {(records.data?.items ?? []).map((record) => (
            <tr key={record.seq}>
              <td>{record.seq}</td>
              <td>
                <time dateTime={record.at}>{new Date(record.at).toLocaleString()}</time>
              </td>
              <td>
                {record.principal} <span className="muted">{record.edge}</span>
              </td>
              <td>{record.action}</td>
              <td>{record.target}</td>
              <td title={record.reasons.join('; ')}>
                <Badge
                  tone={record.decision === 'allow' ? 'ok' : record.decision === 'deny' ? 'bad' : 'warn'}
                >
                  {record.decision}
                </Badge>
              </td>
              <td>{record.result}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {records.data?.items.length === 0 && <p className="muted">No records match.</p>}
    </>
  );
}
