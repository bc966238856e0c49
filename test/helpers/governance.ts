// Governance for tests: the real gateway (token key in the test's data dir, Casbin, audit in the test store)
// and tokens for any role, so tests call the API as real principals.
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load-config.js';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { randomIds } from '../../src/core/ids.js';
import { Governance } from '../../src/governance/governance.js';
import type { Grant, PrincipalKind, Role } from '../../src/governance/principal.js';
import type { PlatformService } from '../../src/platform/platform-service.js';
import type { StateStore } from '../../src/state/ports.js';

export async function testGovernance(options: {
  store: StateStore;
  platform: PlatformService;
  dataDir: string;
  config?: Record<string, unknown>;
  clock?: Clock;
}): Promise<Governance> {
  const config = loadConfig({ env: {}, overrides: { dataDir: options.dataDir }, cwd: options.dataDir });
  // Sections merge one level deep: `{ governance: { guardrails: … } }` keeps the other governance defaults.
  const merged = { ...config } as Record<string, unknown>;
  for (const [key, value] of Object.entries(options.config ?? {})) {
    const base = merged[key];
    merged[key] =
      typeof base === 'object' && base !== null && typeof value === 'object' && value !== null
        ? { ...base, ...value }
        : value;
  }
  return Governance.create({
    config: merged as typeof config,
    store: options.store,
    platform: options.platform,
    clock: options.clock ?? systemClock,
    ids: randomIds,
    logger: pino({ level: 'silent' }),
  });
}

export async function tokenFor(
  governance: Governance,
  subject: string,
  role: Role,
  namespace = '*',
  options: { kind?: PrincipalKind; autonomy?: 1 | 2 | 3; scope?: Omit<Grant['scope'], 'namespace'> } = {},
): Promise<string> {
  const issued = await governance.tokens.issue({
    subject,
    kind: options.kind ?? 'user',
    ...(options.autonomy === undefined ? {} : { autonomy: options.autonomy }),
    grants: [{ role, scope: { namespace, ...options.scope } }],
  });
  return issued.token;
}
