// Kubernetes-style resource quantities: cpu in cores or millicores, memory in bytes with SI or binary suffixes.

const memoryUnits: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

const memoryPattern = /^(\d+(?:\.\d+)?)(|k|M|G|T|Ki|Mi|Gi|Ti)$/;
const cpuPattern = /^(\d+(?:\.\d+)?)(m?)$/;

/** Parses `64Mi`, `1G`, `512000` into bytes; undefined when the text is not a quantity. */
export function parseMemory(text: string): number | undefined {
  const match = memoryPattern.exec(text.trim());
  if (!match) return undefined;
  const unit = memoryUnits[match[2] ?? ''];
  if (unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}

/** Parses `100m`, `0.5`, `2` into millicores; undefined when the text is not a quantity. */
export function parseCpu(text: string): number | undefined {
  const match = cpuPattern.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  return Math.round(match[2] === 'm' ? value : value * 1000);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? value.toFixed(0) : value.toFixed(1)}${units[unit] ?? 'B'}`;
}
