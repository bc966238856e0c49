// A runtime with nothing running on no nodes: for tests of the platform's stored state, where no workload is
// ever started. Tests of the runtime itself use the real LocalRuntime.
import type { RuntimeView } from '../../src/platform/platform-service.js';

export const idleRuntime: RuntimeView = {
  kind: 'idle',
  nodes: () => [],
  status: () => undefined,
  logs: () => [],
};
