import { describe, expect, it } from 'vitest';
import type { MetricPointEntry, ResourceIdentity } from '../../telemetry/model.js';
import { seriesFromTelemetry } from './series-from-telemetry.js';

const resource: ResourceIdentity = {
  fingerprint: 'api',
  service: 'api',
  namespace: 'default',
  project: '',
  component: 'api',
  environment: '',
  instance: '',
  attributes: {},
};
const second = 1_000_000;

function point(overrides: Partial<MetricPointEntry>): MetricPointEntry {
  return {
    resource,
    name: 'm',
    unit: '',
    type: 'gauge',
    temporality: 0,
    monotonic: false,
    timeUs: 0,
    startUs: 0,
    value: 0,
    count: 0,
    min: Number.NaN,
    max: Number.NaN,
    bounds: [],
    bucketCounts: [],
    attributes: {},
    ...overrides,
  };
}

const convert = (points: MetricPointEntry[]) =>
  seriesFromTelemetry({ points, spans: [], logs: [] }, 10 * second);

describe('seriesFromTelemetry', () => {
  it('reads a cumulative counter as a rate and skips a reset', () => {
    const [rate] = convert(
      [0, 10, 20, 30].map((t, index) =>
        point({
          name: 'requests',
          type: 'sum',
          monotonic: true,
          temporality: 2,
          timeUs: t * second,
          value: [0, 50, 150, 5][index] ?? 0,
          attributes: { route: '/a' },
        }),
      ),
    ).series;
    expect(rate).toMatchObject({ metric: 'requests{route=/a}', kind: 'performance', unit: '/s' });
    expect(rate?.points).toEqual([
      [10 * second, 5],
      [20 * second, 10],
    ]);
  });

  it('reads cumulative histograms as the mean and the rate of each interval', () => {
    const { series } = convert(
      [
        [0, 0, 0],
        [10, 10, 1],
        [20, 30, 2],
      ].map(([t, count, sum]) =>
        point({
          name: 'http.server.duration',
          unit: 's',
          type: 'histogram',
          temporality: 2,
          startUs: 1,
          timeUs: (t ?? 0) * second,
          count: count ?? 0,
          value: sum ?? 0,
        }),
      ),
    );
    const mean = series.find((item) => item.metric === 'http.server.duration.mean');
    const rate = series.find((item) => item.metric === 'http.server.duration.rate');
    expect(mean?.points).toEqual([
      [10 * second, 0.1],
      [20 * second, 0.05],
    ]);
    expect(rate).toMatchObject({
      kind: 'traffic',
      points: [
        [10 * second, 1],
        [20 * second, 2],
      ],
    });
  });

  it('reads summaries whose start moves with each point as per-interval', () => {
    const { series } = convert(
      [300, 600].map((t, index) =>
        point({
          name: 'latency',
          type: 'summary',
          startUs: (t - 300) * second,
          timeUs: t * second,
          count: 100,
          value: index === 0 ? 2 : 30,
        }),
      ),
    );
    expect(series.find((item) => item.metric === 'latency.mean')?.points).toEqual([
      [300 * second, 0.02],
      [600 * second, 0.3],
    ]);
  });
});
