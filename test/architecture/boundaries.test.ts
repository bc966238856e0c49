// The architecture is a lint rule, not a convention: prove the rule fires for every edge and infrastructure folder.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

// The project's own config, minus type-aware rules: the probe files below exist only in memory.
const eslint = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  overrideConfig: tseslint.configs.disableTypeChecked,
});

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

const edges = [
  'src/api/routes/probe.ts',
  'src/cli/commands/probe.ts',
  'src/mcp/probe.ts',
  'src/agents/probe.ts',
  'src/demo/probe.ts',
];
const valueImport = (target: string) => `import * as x from '${target}';\nexport const y = x;\n`;
const typeImport = (target: string) => `import type { X } from '${target}';\nexport type Y = X;\n`;

describe('the governance boundary (docs/ARCHITECTURE.md, dependency rules)', () => {
  // Edges sit two folders below the root in these probes (src/<edge>/<file>) except routes and commands.
  const from = (edge: string, path: string) => `${edge.split('/').length === 4 ? '../../' : '../'}${path}`;

  const refused = [
    'governance/governance.js',
    'governance/identity/credentials.js',
    'governance/identity/token-service.js',
    'governance/audit/audit-log.js',
    'governance/authz/authorizer.js',
    'governance/proposals/proposal-service.js',
    'platform/platform-service.js',
    'state/ports.js',
    'state/kysely-state-store.js',
    'runtime/local/local-runtime.js',
    'telemetry/store/duckdb-store.js',
    'telemetry/telemetry-plane.js',
    'adapters/notify/http-notifier.js',
    'server/opspilot-server.js',
    // Agents will be handed a bus; they never open an adapter (or the state tables behind the embedded one).
    'bus/embedded-bus.js',
    'bus/redis-bus.js',
    'bus/nats-bus.js',
    'bus/open-agent-bus.js',
  ];
  for (const edge of edges) {
    for (const target of refused) {
      it(`refuses ${edge.split('/')[1] ?? edge} a value import of ${target}`, async () => {
        expect(await ruleIds(edge, valueImport(from(edge, target)))).toContain('opspilot/edge-imports');
      });
    }
  }

  it('refuses even types of what is behind the gateway, and of identity', async () => {
    for (const target of [
      'governance/governance.js',
      'governance/identity/credentials.js',
      'state/ports.js',
    ]) {
      expect(await ruleIds(edges[0] ?? '', typeImport(from(edges[0] ?? '', target)))).toContain(
        'opspilot/edge-imports',
      );
    }
  });

  it('allows the gateway, what it hands out, and shared contracts', async () => {
    const allowed = [
      'governance/gateway.js',
      'governance/governed-services.js',
      'governance/principal.js',
      'platform/resource-kinds.js',
      'core/errors.js',
      'analysis/rca/model.js',
    ];
    for (const edge of edges) {
      for (const target of allowed) {
        expect(await ruleIds(edge, valueImport(from(edge, target)))).not.toContain('opspilot/edge-imports');
      }
    }
  });

  it('allows types, not values, of the domain services', async () => {
    const edge = 'src/mcp/probe.ts';
    expect(await ruleIds(edge, typeImport('../platform/platform-service.js'))).not.toContain(
      'opspilot/edge-imports',
    );
    expect(await ruleIds(edge, valueImport('../platform/platform-service.js'))).toContain(
      'opspilot/edge-imports',
    );
  });

  it('knows its named exceptions by file: only `up` may start the server', async () => {
    expect(
      await ruleIds('src/cli/commands/up.ts', valueImport('../../server/opspilot-server.js')),
    ).not.toContain('opspilot/edge-imports');
    expect(
      await ruleIds('src/cli/commands/get.ts', valueImport('../../server/opspilot-server.js')),
    ).toContain('opspilot/edge-imports');
  });

  it('leaves the composition root and governance itself alone', async () => {
    expect(await ruleIds('src/server/probe.ts', valueImport('../state/ports.js'))).not.toContain(
      'opspilot/edge-imports',
    );
    expect(
      await ruleIds('src/governance/probe.ts', valueImport('../platform/platform-service.js')),
    ).not.toContain('opspilot/edge-imports');
  });
});

describe('other architecture rules', () => {
  it('keeps analyzers free of I/O', async () => {
    const code = "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n";
    expect(await ruleIds('src/analysis/anomaly/probe.ts', code)).toContain('no-restricted-imports');
  });

  it('keeps process.env inside src/config', async () => {
    const code = 'export const home = process.env.HOME;\n';
    expect(await ruleIds('src/platform/probe.ts', code)).toContain('no-restricted-properties');
    expect(await ruleIds('src/config/probe.ts', code)).not.toContain('no-restricted-properties');
  });
});
