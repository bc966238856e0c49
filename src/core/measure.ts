// Measurements in words a person reads: a value with its unit scaled to fit (`161 MiB`, `1.2 s`, `5.2 %`),
// and a range in one scale (`40–60 MiB`). Units are the ones metric series carry: opspilot's derived metrics
// (`bytes`, `ms`, `millicores`, `ratio`, `req/s`) and UCUM units from OpenTelemetry (`By`, `s`, `ms`, `1`,
// `%`, `By/s`, `{requests}`). An unknown unit is written after the number as it is. Pure.

interface Scale {
  readonly factor: number;
  readonly suffix: string;
}

const binary = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** The scales a unit is written in, smallest first; the value is divided by `factor` and followed by `suffix`. */
function scalesOf(unit: string): Scale[] {
  const perSecond = /^(.*)\/s$/.exec(unit);
  if (perSecond?.[1] !== undefined && isBytes(perSecond[1]))
    return binary.map((suffix, index) => ({ factor: 1024 ** index, suffix: ` ${suffix}/s` }));
  if (isBytes(unit)) return binary.map((suffix, index) => ({ factor: 1024 ** index, suffix: ` ${suffix}` }));
  switch (unit) {
    case 'ms':
      return [
        { factor: 0.001, suffix: ' µs' },
        { factor: 1, suffix: ' ms' },
        { factor: 1000, suffix: ' s' },
        { factor: 60_000, suffix: ' min' },
      ];
    case 's':
      return [
        { factor: 1e-6, suffix: ' µs' },
        { factor: 0.001, suffix: ' ms' },
        { factor: 1, suffix: ' s' },
        { factor: 60, suffix: ' min' },
      ];
    case 'millicores':
      return [
        { factor: 1, suffix: 'm cpu' },
        { factor: 1000, suffix: ' cores' },
      ];
    case 'ratio':
      return [{ factor: 0.01, suffix: ' %' }];
    case '%':
      return [{ factor: 1, suffix: ' %' }];
    case '':
    case '1':
      return [{ factor: 1, suffix: '' }];
    default: {
      const annotation = /^\{(.+)\}$/.exec(unit); // UCUM annotations name what is counted: {requests}
      return [{ factor: 1, suffix: ` ${annotation?.[1] ?? unit}` }];
    }
  }
}

function isBytes(unit: string): boolean {
  return unit === 'By' || unit === 'bytes' || unit === 'byte' || unit === 'B';
}

/** The largest scale in which `magnitude` reads at least 1 (10 for cores), else the smallest. */
function scaleFor(unit: string, magnitude: number): Scale {
  const [smallest = { factor: 1, suffix: '' }, ...larger] = scalesOf(unit);
  if (magnitude === 0 || !Number.isFinite(magnitude))
    return [smallest, ...larger].find((scale) => scale.factor === 1) ?? smallest;
  const switchAt = unit === 'millicores' ? 10 : 1; // 1500m cpu reads better than 1.5 cores
  let chosen = smallest;
  for (const scale of larger) if (magnitude / scale.factor >= switchAt) chosen = scale;
  return chosen;
}

/** Three significant figures, without trailing zeros, and whole numbers from 100 up. */
function figures(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toString();
  return Number(value.toPrecision(3)).toString();
}

/** `161 MiB`, `35 ms`, `1.2 s`, `5.2 %`, `250m cpu`, `12 req/s`, `7 requests`. */
export function formatMeasure(value: number, unit: string): string {
  const scale = scaleFor(unit, Math.abs(value));
  return `${figures(value / scale.factor)}${scale.suffix}`;
}

/** `40–60 MiB`: both ends in the scale of the larger one, the unit written once. */
export function formatMeasureRange(low: number, high: number, unit: string): string {
  const scale = scaleFor(unit, Math.max(Math.abs(low), Math.abs(high)));
  return `${figures(low / scale.factor)}–${figures(high / scale.factor)}${scale.suffix}`;
}
