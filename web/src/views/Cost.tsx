// What the LLM costs: tokens and dollars of this month's reports per requester (agent or person) and per report,
// against the configured monthly budget; chat tokens count toward their report. Without an LLM all is zero.
import { get } from '../api.js';
import type { LlmUsageView } from '../../../src/rca/contracts.js';
import { ago, Badge, Loading, Problem } from '../components/Bits.js';
import { useLoad, useSession } from '../hooks.js';

const usd = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;

export function Cost() {
  const { namespace } = useSession();
  const usage = useLoad(() => get<LlmUsageView>('/api/v1/llm/usage', { namespace }), [namespace]);
  if (usage.data === undefined)
    return usage.error === undefined ? <Loading what="LLM usage" /> : <Problem error={usage.error} />;
  const data = usage.data;
  const share = data.budgetUsd === null ? null : data.costUsd / data.budgetUsd;
  return (
    <>
      <h1>LLM cost in {namespace}</h1>
      <p>
        Since {new Date(data.since).toLocaleDateString()}: <strong>{usd(data.costUsd)}</strong> for{' '}
        {data.inputTokens.toLocaleString()} input and {data.outputTokens.toLocaleString()} output tokens.
      </p>
      {data.budgetUsd === null ? (
        <p className="muted">No monthly budget is set (llm.monthlyBudgetUsd).</p>
      ) : (
        <p>
          Budget {usd(data.budgetUsd)}:{' '}
          <meter
            min={0}
            max={1}
            low={0.75}
            high={0.9}
            optimum={0}
            value={share ?? 0}
            aria-label="budget used"
          />{' '}
          <Badge tone={(share ?? 0) >= 1 ? 'bad' : (share ?? 0) >= 0.75 ? 'warn' : 'ok'}>
            {Math.round((share ?? 0) * 100)}% used
          </Badge>
        </p>
      )}
      <section aria-labelledby="by-requester">
        <h2 id="by-requester">Per agent or person</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Requested by</th>
              <th scope="col">Reports</th>
              <th scope="col">Input tokens</th>
              <th scope="col">Output tokens</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {data.byRequester.map((item) => (
              <tr key={item.requestedBy}>
                <th scope="row">{item.requestedBy}</th>
                <td className="num">{item.reports}</td>
                <td className="num">{item.inputTokens.toLocaleString()}</td>
                <td className="num">{item.outputTokens.toLocaleString()}</td>
                <td className="num">{usd(item.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="by-report">
        <h2 id="by-report">Per report</h2>
        {data.reports.length === 0 ? (
          <p className="muted">No report used an LLM this month.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Report</th>
                <th scope="col">Model</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {data.reports.map((report) => (
                <tr key={report.id}>
                  <td>
                    <a href={`#/reports/${report.id}`}>{report.rule}</a>{' '}
                    <span className="muted">
                      {report.requestedBy}, {ago(report.createdAt)}
                    </span>
                  </td>
                  <td>{report.model ?? '–'}</td>
                  <td className="num">
                    {report.inputTokens.toLocaleString()} + {report.outputTokens.toLocaleString()}
                  </td>
                  <td className="num">{usd(report.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
