import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidError } from '../core/errors.js';
import { inheritedEnvironment, loadClientConfig, loadConfig, redactConfig } from './load-config.js';

function folder(): string {
  return mkdtempSync(join(tmpdir(), 'opspilot-config-'));
}

describe('loadConfig', () => {
  it('runs on defaults with no file and no environment', () => {
    const cwd = folder();
    const config = loadConfig({ env: {}, cwd });
    expect(config.dataDir).toBe(join(cwd, '.opspilot'));
    expect(config.server).toEqual({ host: '127.0.0.1', port: 7400 });
    expect(config.state.url).toBeUndefined();
    expect(config.runtime.local.crashLoopThreshold).toBe(3);
    expect(Object.isFrozen(config.runtime.local)).toBe(true);
  });

  it('layers opspilot.yaml < OPSPILOT_* < flags', () => {
    const cwd = folder();
    writeFileSync(
      join(cwd, 'opspilot.yaml'),
      'server: { port: 7500, host: 0.0.0.0 }\nruntime: { local: { sampleIntervalMs: 500 } }\n',
    );
    const fromFile = loadConfig({ env: {}, cwd });
    expect(fromFile.server).toEqual({ host: '0.0.0.0', port: 7500 });
    expect(fromFile.runtime.local.sampleIntervalMs).toBe(500);

    const fromEnv = loadConfig({
      env: {
        OPSPILOT_PORT: '7600',
        OPSPILOT_RUNTIME__LOCAL__SAMPLE_INTERVAL_MS: '250',
        OPSPILOT_DATA_DIR: '/var/x',
      },
      cwd,
    });
    expect(fromEnv.server.port).toBe(7600);
    expect(fromEnv.runtime.local.sampleIntervalMs).toBe(250);
    expect(fromEnv.dataDir).toBe('/var/x');

    const fromFlags = loadConfig({
      env: { OPSPILOT_PORT: '7600' },
      cwd,
      overrides: { port: '7700', dataDir: 'data' },
    });
    expect(fromFlags.server.port).toBe(7700);
    expect(fromFlags.dataDir).toBe(join(cwd, 'data'));
  });

  it('names the field and where its bad value came from', () => {
    const cwd = folder();
    writeFileSync(join(cwd, 'custom.yaml'), 'server: { prot: 1 }\n');
    const attempt = (): unknown =>
      loadConfig({ env: { OPSPILOT_CONFIG: 'custom.yaml', OPSPILOT_PORT: 'abc' }, cwd });
    expect(attempt).toThrow(InvalidError);
    try {
      attempt();
    } catch (error) {
      const issues = (error as InvalidError).issues;
      expect(issues).toContainEqual(expect.objectContaining({ path: 'server.port (from OPSPILOT_PORT)' }));
      expect(issues.some((issue) => issue.message.includes('prot'))).toBe(true);
    }
  });

  it('rejects a state URL that is neither postgres nor sqlite', () => {
    expect(() => loadConfig({ env: { OPSPILOT_STATE_URL: 'mysql://x' }, cwd: folder() })).toThrow(
      /invalid configuration/,
    );
  });

  it('defaults the agent bus to embedded and fills in the broker URL of redis and nats', () => {
    const cwd = folder();
    expect(loadConfig({ env: {}, cwd }).agents.bus).toEqual({ kind: 'embedded', url: undefined });
    expect(loadConfig({ env: { OPSPILOT_AGENTS__BUS__KIND: 'redis' }, cwd }).agents.bus).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
    });
    writeFileSync(
      join(cwd, 'opspilot.yaml'),
      'agents: { bus: { kind: nats, url: "nats://a:4222,nats://b:4222" } }\n',
    );
    expect(loadConfig({ env: {}, cwd }).agents.bus).toEqual({
      kind: 'nats',
      url: 'nats://a:4222,nats://b:4222',
    });
  });

  it('refuses an agent bus URL that does not fit its kind, saying what would', () => {
    const messages = (env: Record<string, string>): string[] => {
      try {
        loadConfig({ env, cwd: folder() });
        return [];
      } catch (error) {
        return (error as InvalidError).issues.map((issue) => `${issue.path}: ${issue.message}`);
      }
    };
    expect(messages({ OPSPILOT_AGENTS__BUS__KIND: 'kafka' })[0]).toMatch(/^agents\.bus\.kind/);
    expect(
      messages({
        OPSPILOT_AGENTS__BUS__KIND: 'redis',
        OPSPILOT_AGENTS__BUS__URL: 'nats://127.0.0.1:4222',
      })[0],
    ).toMatch(/^agents\.bus\.url.*a redis bus needs a URL like redis:\/\/HOST:6379/);
    expect(messages({ OPSPILOT_AGENTS__BUS__URL: 'redis://127.0.0.1:6379' })[0]).toMatch(
      /^agents\.bus\.url.*the embedded bus lives in the state database/,
    );
  });

  it('masks secrets when printing', () => {
    const config = loadConfig({
      env: { OPSPILOT_STATE_URL: 'postgres://app:s3cret@db:5432/ops' },
      cwd: folder(),
    });
    const printed = JSON.stringify(redactConfig(config));
    expect(printed).not.toContain('s3cret');
    expect(printed).toContain('postgres://app:***@db:5432/ops');
  });
});

describe('client config and child environment', () => {
  it('reads the server address and token', () => {
    expect(loadClientConfig({ env: {} }).server).toBe('http://127.0.0.1:7400');
    const config = loadClientConfig({ env: { OPSPILOT_SERVER: 'http://h:1/', OPSPILOT_TOKEN: 't' } });
    expect(config).toEqual({ server: 'http://h:1', token: 't' });
    expect(() => loadClientConfig({ server: 'not a url', env: {} })).toThrow(/invalid server address/);
    expect(() => loadClientConfig({ server: 'localhost:7400', env: {} })).toThrow(/invalid server address/);
  });

  it('passes only the basics on to replicas', () => {
    const env = inheritedEnvironment({
      PATH: '/bin',
      HOME: '/root',
      LC_ALL: 'C',
      OPSPILOT_TOKEN: 'x',
      AWS_SECRET: 'y',
    });
    expect(env).toEqual({ PATH: '/bin', HOME: '/root', LC_ALL: 'C' });
  });
});
