// The governance boundary as an allow-list: what an edge (REST, MCP, CLI, agents, demo) may import from the rest
// of src/. Anything not listed is refused, so a new module is off limits to edges until someone decides otherwise.
// Type-only imports of contracts are allowed from the platform's domain folders (they vanish at compile time and
// reach nothing); value imports only from the modules below.
import { dirname, relative, resolve } from 'node:path';

/** The edges: their files may import each other (the API serves the agent's chat, MCP reuses route actions). */
export const edgeFolders = ['src/api/', 'src/mcp/', 'src/cli/', 'src/agents/', 'src/demo/'];

/** Modules every edge may import values from. Folders end with `/`. */
export const edgeAllowed = [
  // The gateway, and what it hands out or names.
  'src/governance/gateway.ts',
  'src/governance/governed-services.ts',
  'src/governance/principal.ts',
  'src/governance/authz/actions.ts',
  'src/governance/proposals/contracts.ts',
  // Shared vocabulary: schemas, contracts, pure helpers.
  'src/core/',
  'src/analysis/',
  'src/platform/contracts.ts',
  'src/platform/resource-kinds.ts',
  'src/telemetry/model.ts',
  'src/telemetry/span-attributes.ts',
  'src/telemetry/query/contracts.ts',
  'src/telemetry/alerting/contracts.ts',
  'src/rca/contracts.ts',
  'src/rca/confidence.ts',
  'src/rca/hints.ts',
  'src/rca/writer.ts',
  'src/rca/notifier.ts',
  'src/config/config-schema.ts',
  'src/server/package-info.ts',
];

/** Folders an edge may import types (and only types) from. */
export const edgeTypesAllowed = [
  'src/governance/',
  'src/platform/',
  'src/telemetry/',
  'src/rca/',
  'src/config/',
];

/** Not even types: the object behind the gateway, and the minting of principals. */
export const edgeTypesRefused = ['src/governance/governance.ts', 'src/governance/identity/'];

/** Named exceptions, each with its reason. */
export const edgeExceptions = {
  // The process that hosts the composition root: it builds the server and prints what it serves.
  'src/cli/commands/up.ts': ['src/server/opspilot-server.ts', 'src/config/load-config.ts'],
  // `opspilot token create` mints a token offline from the data dir's keys: identity itself does the minting.
  // `opspilot audit verify --data-dir` checks a stopped server's audit chain offline, with its key.
  'src/cli/commands/governance.ts': [
    'src/governance/identity/token-service.ts',
    'src/config/load-config.ts',
    'src/server/offline-audit.ts',
  ],
  // The CLI reads its own client configuration (server URL, token) and prints the server's.
  'src/cli/context.ts': ['src/config/load-config.ts'],
  'src/cli/commands/mcp.ts': ['src/config/load-config.ts'],
  'src/cli/commands/config.ts': ['src/config/load-config.ts'],
  // Offline analysis of OTLP files (no server): the file reader, not the receiver.
  'src/cli/commands/analyze-rca.ts': ['src/telemetry/ingest/otlp-files.ts'],
};

const isAllowed = (target, list) =>
  list.some((entry) => (entry.endsWith('/') ? target.startsWith(entry) : target === entry));

/** @type {import('eslint').Rule.RuleModule} */
export const edgeImportsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Edges import only the governance gateway and shared contracts (an allow-list).' },
    schema: [],
    messages: {
      refused:
        '{{file}} is an edge: it may not import {{target}}. Edges reach the platform through the governance gateway (src/governance/gateway.ts); see eslint-rules/edge-imports.js for what is allowed and why.',
    },
  },
  create(context) {
    const root = context.cwd;
    const file = relative(root, context.filename).split('\\').join('/');
    if (!edgeFolders.some((folder) => file.startsWith(folder))) return {};
    const check = (node, source, typeOnly) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = relative(root, resolve(dirname(context.filename), source))
        .split('\\')
        .join('/')
        .replace(/\.js$/, '.ts');
      if (!target.startsWith('src/')) return;
      if (edgeFolders.some((folder) => target.startsWith(folder))) return;
      if (isAllowed(target, edgeAllowed)) return;
      if (typeOnly && isAllowed(target, edgeTypesAllowed) && !isAllowed(target, edgeTypesRefused)) return;
      if (isAllowed(target, edgeExceptions[file] ?? [])) return;
      context.report({ node, messageId: 'refused', data: { file, target } });
    };
    return {
      ImportDeclaration(node) {
        const typeOnly =
          node.importKind === 'type' ||
          (node.specifiers.length > 0 && node.specifiers.every((item) => item.importKind === 'type'));
        check(node, node.source.value, typeOnly);
      },
      ExportNamedDeclaration(node) {
        if (node.source !== null) check(node, node.source.value, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === 'type');
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node, node.source.value, false);
      },
    };
  },
};
