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

describe('import boundaries', () => {
  const edges = [
    'src/api/routes/probe.ts',
    'src/cli/commands/probe.ts',
    'src/mcp/probe.ts',
    'src/agents/probe.ts',
  ];
  const infrastructure = [
    '../../state/ports.js',
    '../../runtime/local/local-runtime.js',
    '../../telemetry/store/duckdb-store.js',
    '../../telemetry/adapters/prometheus.js',
  ];

  for (const edge of edges) {
    for (const target of infrastructure) {
      it(`forbids ${edge.split('/')[1] ?? edge} from importing ${target}`, async () => {
        const code = `import type { X } from '${target}';\nexport type Y = X;\n`;
        expect(await ruleIds(edge, code)).toContain('no-restricted-imports');
      });
    }
  }

  it('lets edges use platform services', async () => {
    const code =
      "import type { PlatformService } from '../../platform/platform-service.js';\nexport type Y = PlatformService;\n";
    expect(await ruleIds('src/api/routes/probe.ts', code)).not.toContain('no-restricted-imports');
  });

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
