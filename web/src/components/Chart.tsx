// A line chart of one or more series over time, in SVG, with the incident's onset marked: enough to see a
// metric change around onset without a charting library.
export interface ChartSeries {
  readonly label: string;
  /** [time ms, value] */
  readonly points: readonly (readonly [number, number])[];
}

const colors = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed'];

export function Chart({
  title,
  series,
  unit,
  markerMs,
  markerLabel = 'onset',
  height = 140,
}: {
  title: string;
  series: readonly ChartSeries[];
  unit: string;
  markerMs?: number | undefined;
  markerLabel?: string;
  height?: number;
}) {
  const width = 560;
  const pad = { left: 48, right: 8, top: 8, bottom: 20 };
  const all = series.flatMap((item) => item.points);
  if (all.length === 0) {
    return (
      <figure className="chart">
        <figcaption>{title}</figcaption>
        <p className="muted">No data in the window.</p>
      </figure>
    );
  }
  const times = all.map(([time]) => time);
  const values = all.map(([, value]) => value);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1);
  const v0 = Math.min(0, ...values);
  const v1 = Math.max(...values, v0 + 1e-9);
  const x = (time: number) => pad.left + ((time - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (value: number) => pad.top + (1 - (value - v0) / (v1 - v0)) * (height - pad.top - pad.bottom);
  const last = series.map((item) => item.points.at(-1)?.[1]);
  const summary = series
    .map((item, index) => `${item.label}: latest ${format(last[index])} ${unit}`)
    .join('; ');
  return (
    <figure className="chart">
      <figcaption>
        {title} <span className="muted">({unit})</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}. ${summary}`}>
        <line x1={pad.left} x2={width - pad.right} y1={y(v0)} y2={y(v0)} className="axis" />
        <text x={pad.left - 4} y={y(v1) + 8} textAnchor="end" className="tick">
          {format(v1)}
        </text>
        <text x={pad.left - 4} y={y(v0)} textAnchor="end" className="tick">
          {format(v0)}
        </text>
        <text x={pad.left} y={height - 4} className="tick">
          {new Date(t0).toLocaleTimeString()}
        </text>
        <text x={width - pad.right} y={height - 4} textAnchor="end" className="tick">
          {new Date(t1).toLocaleTimeString()}
        </text>
        {markerMs !== undefined && markerMs >= t0 && markerMs <= t1 && (
          <g className="marker">
            <line x1={x(markerMs)} x2={x(markerMs)} y1={pad.top} y2={height - pad.bottom} />
            <text x={x(markerMs) + 3} y={pad.top + 10}>
              {markerLabel}
            </text>
          </g>
        )}
        {series.map((item, index) => (
          <polyline
            key={item.label}
            fill="none"
            stroke={colors[index % colors.length]}
            strokeWidth="1.8"
            points={item.points.map(([time, value]) => `${x(time)},${y(value)}`).join(' ')}
          />
        ))}
      </svg>
      {series.length > 1 && (
        <ul className="legend">
          {series.map((item, index) => (
            <li key={item.label} style={{ color: colors[index % colors.length] }}>
              {item.label}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

export function format(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  return Number(value.toPrecision(3)).toString();
}
