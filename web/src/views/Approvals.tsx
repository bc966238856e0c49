// Proposals waiting for a person: the diff before → after, blast radius and guardrail verdicts; approve or
// reject with a reason. Your own proposals cannot be approved by you (the server refuses too).
import { useState } from 'react';
import { asError, get, may, post, type Listed, type Proposal, type ProposalSummary } from '../api.js';
import { ago, Badge, Loading, Problem } from '../components/Bits.js';
import { useLoad, useSession } from '../hooks.js';

export function Approvals({ id }: { id: string | undefined }) {
  const { namespace } = useSession();
  const list = useLoad(
    () =>
      get<Listed<ProposalSummary>>('/api/v1/proposals', { namespace, status: 'pending,executing,verifying' }),
    [namespace],
  );
  const recent = useLoad(
    () => get<Listed<ProposalSummary>>('/api/v1/proposals', { namespace, limit: '20' }),
    [namespace],
  );
  return (
    <>
      <h1>Approvals</h1>
      {id !== undefined && <ProposalDetail key={id} id={id} />}
      <section aria-labelledby="waiting">
        <h2 id="waiting">Waiting and running</h2>
        <Problem error={list.error} />
        <ProposalList items={list.data?.items ?? []} empty="Nothing waits for approval." />
      </section>
      <section aria-labelledby="recent">
        <h2 id="recent">Recent proposals</h2>
        <ProposalList items={recent.data?.items ?? []} empty="No proposals yet." />
      </section>
    </>
  );
}

function tone(status: string): 'ok' | 'warn' | 'bad' | 'info' | 'muted' {
  if (status === 'succeeded') return 'ok';
  if (status === 'pending') return 'warn';
  if (['failed', 'rejected', 'denied', 'compensated'].includes(status)) return 'bad';
  if (status === 'expired') return 'muted';
  return 'info';
}

function ProposalList({ items, empty }: { items: readonly ProposalSummary[]; empty: string }) {
  if (items.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ul className="rows">
      {items.map((proposal) => (
        <li key={proposal.id}>
          <Badge tone={tone(proposal.status)}>{proposal.status}</Badge>{' '}
          <a href={`#/approvals/${proposal.id}`}>{proposal.title}</a>{' '}
          <span className="muted">
            by {proposal.createdBy} {ago(proposal.createdAt)}
          </span>
        </li>
      ))}
    </ul>
  );
}

function ProposalDetail({ id }: { id: string }) {
  const { who } = useSession();
  const proposal = useLoad(() => get<Proposal>(`/api/v1/proposals/${encodeURIComponent(id)}`), [id]);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const [decided, setDecided] = useState<Proposal | null>(null);
  if (proposal.data === undefined)
    return proposal.error === undefined ? (
      <Loading what="the proposal" />
    ) : (
      <Problem error={proposal.error} />
    );
  const shown = decided ?? proposal.data;
  const own = shown.createdBy.subject === who.subject;
  const canDecide = shown.status === 'pending' && may(who, 'proposal.approve', shown.namespace);
  const decide = async (verdict: 'approve' | 'reject') => {
    setBusy(true);
    setError(undefined);
    try {
      setDecided(
        await post<Proposal>(`/api/v1/proposals/${encodeURIComponent(shown.id)}/${verdict}`, {
          comment: reason.trim() === '' ? undefined : reason.trim(),
        }),
      );
    } catch (failure) {
      setError(asError(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="proposal" className="proposal">
      <h2 id="proposal">
        {shown.title} <Badge tone={tone(shown.status)}>{shown.status}</Badge>
      </h2>
      <p className="muted">
        {shown.id} · {shown.action} · by {shown.createdBy.subject} ({shown.createdBy.edge}){' '}
        {ago(shown.createdAt)} ·{' '}
        {shown.status === 'pending' ? `expires ${ago(shown.expiresAt)}` : shown.status}
      </p>
      <h3>Change</h3>
      <table className="diff">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {shown.diff.map((field) => (
            <tr key={`${field.resource}-${field.path}`}>
              <th scope="row">
                {field.resource} <code>{field.path}</code>
              </th>
              <td className="before">{JSON.stringify(field.before)}</td>
              <td className="after">{JSON.stringify(field.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Blast radius</h3>
      <p>
        services: {shown.blastRadius.services.join(', ') || '–'} · tenants:{' '}
        {shown.blastRadius.tenants.join(', ') || '–'}
        {shown.blastRadius.replicas === null
          ? ''
          : ` · replicas ${shown.blastRadius.replicas.before} → ${shown.blastRadius.replicas.after}`}
        {shown.blastRadius.capacityChangePercent === null
          ? ''
          : ` · capacity ${shown.blastRadius.capacityChangePercent > 0 ? '+' : ''}${shown.blastRadius.capacityChangePercent}%`}
      </p>
      <h3>Guardrails</h3>
      <ul className="rows">
        {shown.guardrails.checks.map((check) => (
          <li key={check.name}>
            <Badge tone={check.outcome === 'allow' ? 'ok' : check.outcome === 'deny' ? 'bad' : 'warn'}>
              {check.outcome}
            </Badge>{' '}
            {check.name}: {check.reason}
          </li>
        ))}
      </ul>
      {shown.approval.reasons.length > 0 && <p>Needs approval: {shown.approval.reasons.join('; ')}</p>}
      {canDecide && own && <p className="muted">You proposed this change: another person must approve it.</p>}
      {canDecide && !own && (
        <form
          className="decide"
          onSubmit={(event) => {
            event.preventDefault();
          }}
        >
          <label htmlFor="reason">Reason</label>
          <input
            id="reason"
            value={reason}
            onChange={(event) => {
              setReason(event.target.value);
            }}
            placeholder="Why (kept in the audit log)"
          />
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              void decide('approve');
            }}
          >
            Approve
          </button>
          <button
            type="button"
            className="secondary"
            disabled={busy}
            onClick={() => {
              void decide('reject');
            }}
          >
            Reject
          </button>
        </form>
      )}
      <Problem error={error} />
    </section>
  );
}
