// Right-sizing: requests and limits from observed cpu and memory. Pure and deterministic.
// Cpu request: enough for the average with 50 % headroom and for 70 % of the peak; memory request: the peak
// plus 20 %; memory limit: the peak plus 50 % (never below the request plus 25 %), so that a recommendation
// never invites an OOM kill at the load that was seen. Values round up to 10 millicores and 1 MiB.

export interface ObservedUsage {
  readonly component: string;
  readonly environment: string;
  readonly replicas: number;
  readonly cpu: {
    readonly avgMillicores: number | null;
    readonly maxMillicores: number | null;
    readonly requestMillicores: number | null;
    readonly limitMillicores: number | null;
  };
  readonly memory: {
    readonly avgBytes: number | null;
    readonly maxBytes: number | null;
    readonly requestBytes: number | null;
    readonly limitBytes: number | null;
  };
}

export interface Recommendation {
  readonly component: string;
  readonly environment: string;
  /** Kubernetes quantities, e.g. `120m`, `96Mi`; null when there is no data to base it on. */
  readonly requests: { readonly cpu: string | null; readonly memory: string | null };
  readonly limits: { readonly memory: string | null };
  /** Positive: what the binding would free per replica; negative: what it lacks. */
  readonly cpuChangeMillicores: number | null;
  readonly memoryChangeBytes: number | null;
  readonly verdict: 'over-provisioned' | 'under-provisioned' | 'right-sized' | 'no-data';
  readonly reason: string;
}

const mebibyte = 1024 * 1024;

export function recommend(usage: ObservedUsage): Recommendation {
  const { cpu, memory } = usage;
  if (usage.replicas === 0 || (cpu.avgMillicores === null && memory.maxBytes === null)) {
    return {
      component: usage.component,
      environment: usage.environment,
      requests: { cpu: null, memory: null },
      limits: { memory: null },
      cpuChangeMillicores: null,
      memoryChangeBytes: null,
      verdict: 'no-data',
      reason: 'no cpu or memory samples in the window',
    };
  }
  const cpuRequest =
    cpu.avgMillicores === null
      ? null
      : Math.max(
          10,
          roundUp(Math.max(cpu.avgMillicores * 1.5, (cpu.maxMillicores ?? cpu.avgMillicores) * 0.7), 10),
        );
  const memoryRequest = memory.maxBytes === null ? null : roundUp(memory.maxBytes * 1.2, mebibyte);
  const memoryLimit =
    memory.maxBytes === null || memoryRequest === null
      ? null
      : Math.max(roundUp(memory.maxBytes * 1.5, mebibyte), roundUp(memoryRequest * 1.25, mebibyte));
  const cpuChange =
    cpuRequest === null || cpu.requestMillicores === null ? null : cpu.requestMillicores - cpuRequest;
  const memoryChange =
    memoryRequest === null || memory.requestBytes === null ? null : memory.requestBytes - memoryRequest;
  const over = [cpuChange, memoryChange].some((change, index) => {
    const current = index === 0 ? cpu.requestMillicores : memory.requestBytes;
    return change !== null && current !== null && change > current * 0.3;
  });
  const under =
    (cpuChange !== null && cpuChange < 0) ||
    (memoryChange !== null && memoryChange < 0) ||
    (memory.limitBytes !== null && memory.maxBytes !== null && memory.maxBytes > memory.limitBytes * 0.9);
  const verdict = under ? 'under-provisioned' : over ? 'over-provisioned' : 'right-sized';
  const parts = [
    cpu.avgMillicores === null
      ? null
      : `cpu avg ${Math.round(cpu.avgMillicores)}m, peak ${Math.round(cpu.maxMillicores ?? cpu.avgMillicores)}m vs request ${cpu.requestMillicores === null ? 'unset' : `${cpu.requestMillicores}m`}`,
    memory.maxBytes === null
      ? null
      : `memory peak ${formatMemory(memory.maxBytes)} vs request ${memory.requestBytes === null ? 'unset' : formatMemory(memory.requestBytes)}, limit ${memory.limitBytes === null ? 'unset' : formatMemory(memory.limitBytes)}`,
  ].filter((part) => part !== null);
  return {
    component: usage.component,
    environment: usage.environment,
    requests: {
      cpu: cpuRequest === null ? null : `${cpuRequest}m`,
      memory: memoryRequest === null ? null : formatMemory(memoryRequest),
    },
    limits: { memory: memoryLimit === null ? null : formatMemory(memoryLimit) },
    cpuChangeMillicores: cpuChange,
    memoryChangeBytes: memoryChange,
    verdict,
    reason: parts.join('; '),
  };
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}

function formatMemory(bytes: number): string {
  return `${Math.ceil(bytes / mebibyte)}Mi`;
}
