// Loads the effective configuration once: defaults < opspilot.yaml < OPSPILOT_* env < command-line flags.
// The result is validated by the one schema and deeply frozen. This folder is the only reader of process.env.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidError, formatPath, type FieldIssue } from '../core/errors.js';
import { configSchema, type Config } from './config-schema.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ConfigOverrides {
  configFile?: string | undefined;
  dataDir?: string | undefined;
  port?: number | string | undefined;
  host?: string | undefined;
  otlpPort?: number | string | undefined;
}

export interface LoadConfigOptions {
  env?: Environment;
  cwd?: string;
  overrides?: ConfigOverrides;
}

/** Short names for the settings people set most; every other key is reachable as OPSPILOT_SECTION__KEY. */
const environmentAliases: Record<string, readonly string[]> = {
  OPSPILOT_DATA_DIR: ['dataDir'],
  OPSPILOT_PORT: ['server', 'port'],
  OPSPILOT_HOST: ['server', 'host'],
  OPSPILOT_STATE_URL: ['state', 'url'],
  OPSPILOT_LOG_LEVEL: ['log', 'level'],
  OPSPILOT_LOG_FORMAT: ['log', 'format'],
  OPSPILOT_OTLP_PORT: ['otlp', 'port'],
};

/** Variables that are read elsewhere in this folder and are not config keys. */
const nonConfigVariables = new Set(['OPSPILOT_CONFIG', 'OPSPILOT_SERVER', 'OPSPILOT_TOKEN']);

type Tree = Record<string, unknown>;

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const overrides = options.overrides ?? {};
  const sources = new Map<string, string>();
  const tree: Tree = {};

  const explicitFile = overrides.configFile ?? env.OPSPILOT_CONFIG;
  const file = explicitFile ?? (existsSync(resolve(cwd, 'opspilot.yaml')) ? 'opspilot.yaml' : undefined);
  if (file !== undefined) {
    const path = resolve(cwd, file);
    const fromFile = readConfigFile(path);
    for (const [keyPath, value] of leaves(fromFile)) {
      setPath(tree, keyPath, value);
      sources.set(keyPath.join('.'), path);
    }
  }

  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('OPSPILOT_') || value === undefined || nonConfigVariables.has(name)) continue;
    const keyPath = environmentAliases[name] ?? environmentPath(name);
    setPath(tree, keyPath, value);
    sources.set(keyPath.join('.'), name);
  }

  const flagValues: [readonly string[], unknown, string][] = [
    [['dataDir'], overrides.dataDir, '--data-dir'],
    [['server', 'port'], overrides.port, '--port'],
    [['server', 'host'], overrides.host, '--host'],
    [['otlp', 'port'], overrides.otlpPort, '--otlp-port'],
  ];
  for (const [keyPath, value, flag] of flagValues) {
    if (value === undefined) continue;
    setPath(tree, keyPath, value);
    sources.set(keyPath.join('.'), flag);
  }

  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    const issues: FieldIssue[] = parsed.error.issues.map((issue) => {
      const path = formatPath(issue.path);
      const source = sources.get(issue.path.join('.'));
      const unknownKeys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      return {
        path: source === undefined ? path : `${path} (from ${source})`,
        message: issue.message + unknownKeys,
      };
    });
    throw new InvalidError('invalid configuration', issues, {
      hint: 'Fix the values named above; `opspilot config print` shows the effective configuration.',
    });
  }

  const config = parsed.data;
  config.dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(cwd, config.dataDir);
  return deepFreeze(config);
}

/** The client side of the CLI: where the server is and which token to send. */
export interface ClientConfig {
  readonly server: string;
  readonly token: string | undefined;
}

export function loadClientConfig(
  options: { server?: string | undefined; env?: Environment; cwd?: string } = {},
): ClientConfig {
  const env = options.env ?? process.env;
  const server = options.server ?? env.OPSPILOT_SERVER ?? 'http://127.0.0.1:7400';
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InvalidError(`invalid server address '${server}'`, [], {
      hint: 'Pass --server http://HOST:PORT or set OPSPILOT_SERVER.',
    });
  }
  return Object.freeze({
    server: url.toString().replace(/\/$/, ''),
    token: env.OPSPILOT_TOKEN ?? localAdminToken(env, options.cwd ?? process.cwd()),
  });
}

/**
 * The admin token `opspilot up` keeps in its data dir (like a kubeconfig), for CLI use on the same machine
 * when OPSPILOT_TOKEN is unset. Undefined when there is none or it cannot be read.
 */
function localAdminToken(env: Environment, cwd: string): string | undefined {
  const dataDir = resolve(cwd, env.OPSPILOT_DATA_DIR ?? './.opspilot');
  try {
    const token = readFileSync(resolve(dataDir, 'auth', 'admin.token'), 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** A copy of the config that is safe to print: passwords in URLs and secret-looking keys are masked. */
export function redactConfig(config: Config): unknown {
  return redact(config, []);
}

const secretKey = /(secret|token|password|passphrase|private|apikey|api_key|webhookurl|routingkey)/i;

function redact(value: unknown, path: string[]): unknown {
  if (typeof value === 'string') {
    if (path.length > 0 && secretKey.test(path[path.length - 1] ?? '')) return '***';
    return redactUrlPassword(value);
  }
  if (Array.isArray(value)) return value.map((item, index) => redact(item, [...path, String(index)]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, redact(item, [...path, key])]),
    );
  }
  return value;
}

function redactUrlPassword(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(text)) return text;
  try {
    const url = new URL(text);
    if (url.password === '') return text;
    url.password = '***';
    return url.toString();
  } catch {
    return text;
  }
}

function readConfigFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidError(
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? ''}`,
      [],
      {
        hint: 'Check --config / OPSPILOT_CONFIG, or remove it to use the defaults.',
      },
    );
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new InvalidError(`config file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new InvalidError(`config file ${path} must hold a mapping of settings`);
  }
  return document as Tree;
}

/** OPSPILOT_RUNTIME__LOCAL__SAMPLE_INTERVAL_MS → ['runtime', 'local', 'sampleIntervalMs']. */
function environmentPath(name: string): string[] {
  return name
    .slice('OPSPILOT_'.length)
    .split('__')
    .map((segment) =>
      segment.toLowerCase().replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase()),
    );
}

function* leaves(tree: Tree, prefix: string[] = []): Generator<[string[], unknown]> {
  for (const [key, value] of Object.entries(tree)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      yield* leaves(value as Tree, [...prefix, key]);
    } else {
      yield [[...prefix, key], value];
    }
  }
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  path.forEach((key, index) => {
    if (index === path.length - 1) {
      node[key] = value;
      return;
    }
    const child = node[key];
    if (child === null || typeof child !== 'object' || Array.isArray(child)) node[key] = {};
    node = node[key] as Tree;
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** Variables replicas and build steps inherit from opspilot's own environment; nothing else leaks to them. */
const inheritedNames = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TERM',
];

export function inheritedEnvironment(env: Environment = process.env): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (inheritedNames.includes(name) || name.startsWith('LC_')) result[name] = value;
  }
  return result;
}
