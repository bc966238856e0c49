// `opspilot up --demo`: the demo's manifests (demo/*.yaml) applied at start. It is a bootstrap by the operator who
// asked for it, like the platform's own defaults, not an edge's request: the composition root applies it and
// writes one audit record (demo:install) naming what changed. Faults and heals after it are proposals.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Config } from '../config/config-schema.js';
import { digest } from '../core/canonical-json.js';
import { sleep } from '../core/clock.js';
import type { AuditLog } from '../governance/audit/audit-log.js';
import type { EnvironmentStatus } from '../platform/contracts.js';
import type { PlatformService } from '../platform/platform-service.js';
import type { Resource } from '../platform/resource-kinds.js';

export async function installDemo(options: {
  readonly platform: PlatformService;
  readonly audit: AuditLog;
  readonly folder: string;
  /** How long to wait for the demo's bindings to run (0: do not wait). */
  readonly waitMs: number;
}): Promise<{ files: number; changed: number; bindings: Resource[] }> {
  const { platform, folder } = options;
  const started = performance.now();
  const files = readdirSync(folder)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(folder, name));
  const documents = files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((document) => document.toJS() as unknown)
      .filter((value) => value !== null),
  );
  const outcome = await platform.apply(documents, { baseDir: folder });
  const changed = outcome.items.filter((item) => item.action !== 'unchanged');
  await options.audit.append({
    principal: 'demo:install',
    principalKind: 'service',
    client: 'opspilot-up',
    edge: 'system',
    action: 'demo.install',
    namespace: '',
    target: 'demo',
    argsDigest: digest(documents),
    decision: 'allow',
    reasons: ['opspilot up --demo: the demo manifests are applied at start'],
    result: `${changed.length} change(s) from ${files.length} file(s)`,
    latencyMs: performance.now() - started,
  });
  const namespaces = [
    ...new Set(
      documents
        .map((document) => (document as { metadata?: { namespace?: string } }).metadata?.namespace)
        .filter((namespace): namespace is string => namespace !== undefined),
    ),
  ].sort();
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const bindings = (
      await Promise.all(namespaces.map((namespace) => platform.list('ReleaseBinding', { namespace })))
    )
      .flat()
      .filter((binding) => (binding.spec as { state?: string }).state !== 'Undeploy');
    const running = bindings.every(
      (binding) => (binding.status as EnvironmentStatus | undefined)?.phase === 'Running',
    );
    if (running || Date.now() >= deadline) return { files: files.length, changed: changed.length, bindings };
    await sleep(500);
  }
}

/**
 * The demo's guardrails: its `shop/prod` may be scaled below the production minimum, so that the
 * catalog-scaled-to-zero fault can be proposed and approved on the governed path (it would be denied otherwise).
 * Production approval, cooldowns and every other check stay. A `shop/prod` override of the operator's wins.
 */
export function withDemoGuardrails(config: Config): Config {
  const key = 'shop/prod';
  const override = config.governance.overrides[key];
  if (override?.minProductionReplicas !== undefined) return config;
  return {
    ...config,
    governance: {
      ...config.governance,
      overrides: { ...config.governance.overrides, [key]: { ...override, minProductionReplicas: 0 } },
    },
  };
}
