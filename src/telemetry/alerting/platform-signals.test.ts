import { describe, expect, it } from 'vitest';
import {
  defaultPlatformSignalSettings as settings,
  isUnready,
  judgePlatformSignals,
  type BindingFacts,
  type PlatformSignal,
} from './platform-signals.js';

const now = Date.parse('2026-11-21T10:00:00.000Z');
const ago = (ms: number) => new Date(now - ms).toISOString();

const healthy: BindingFacts = {
  component: 'recommendation',
  environment: 'prod',
  state: 'Active',
  phase: 'Running',
  message: null,
  release: 'recommendation-1',
  desiredReplicas: 2,
  readyReplicas: 2,
  serves: true,
  events: [],
  progressingSinceMs: undefined,
  unreadySinceMs: undefined,
};

const activeSignals = (facts: BindingFacts): PlatformSignal[] =>
  judgePlatformSignals(facts, now, settings)
    .filter((observation) => observation.active)
    .map((observation) => observation.signal);

describe('judgePlatformSignals', () => {
  it('raises nothing for a healthy binding', () => {
    expect(activeSignals(healthy)).toEqual([]);
  });

  it('raises OOMKilled for a recent OOM kill, and lets it go after a quiet spell', () => {
    const oom = {
      reason: 'OOMKilled',
      message: 'used 170 MiB of 160 MiB; killed',
      count: 1,
      lastTimestamp: ago(20_000),
    };
    const facts = { ...healthy, events: [oom] };
    expect(activeSignals(facts)).toEqual(['OOMKilled']);
    expect(judgePlatformSignals(facts, now)[0]?.summary).toContain('OOM-killed 20 s ago');
    expect(
      activeSignals({ ...healthy, events: [{ ...oom, lastTimestamp: ago(settings.quietMs + 1000) }] }),
    ).toEqual([]);
  });

  it('raises CrashLoopBackOff from the phase, and RestartingRepeatedly from the restarts counted', () => {
    const backOff = { reason: 'BackOff', message: 'Back-off 4s', count: 3, lastTimestamp: ago(5_000) };
    expect(activeSignals({ ...healthy, phase: 'CrashLoopBackOff', events: [backOff] })).toEqual([
      'CrashLoopBackOff',
      'RestartingRepeatedly',
    ]);
    expect(activeSignals({ ...healthy, events: [{ ...backOff, count: 2 }] })).toEqual([]);
  });

  it('raises RolloutStuck only past the rollout deadline', () => {
    const rolling = {
      ...healthy,
      phase: 'Progressing',
      message: 'rolling out recommendation-2: 0/2 updated replicas ready',
    };
    expect(activeSignals({ ...rolling, progressingSinceMs: now - 60_000 })).toEqual([]);
    expect(activeSignals({ ...rolling, progressingSinceMs: now - settings.rolloutDeadlineMs })).toEqual([
      'RolloutStuck',
    ]);
  });

  it('raises NoReadyReplica for a service with no ready replica for a while, scaled to zero included', () => {
    const down = { ...healthy, phase: 'Running', desiredReplicas: 0, readyReplicas: 0 };
    expect(isUnready(down)).toBe(true);
    expect(activeSignals({ ...down, unreadySinceMs: now - 5_000 })).toEqual([]);
    expect(activeSignals({ ...down, unreadySinceMs: now - settings.noReadyForMs })).toEqual([
      'NoReadyReplica',
    ]);
    expect(activeSignals({ ...down, serves: false, unreadySinceMs: now - 60_000 })).toEqual([]);
  });

  it('does not count a binding mid-rollout as unready, and raises nothing for an undeployed one', () => {
    expect(isUnready({ state: 'Active', phase: 'Progressing', readyReplicas: 0 })).toBe(false);
    const undeployed = {
      ...healthy,
      state: 'Undeploy' as const,
      phase: 'CrashLoopBackOff',
      unreadySinceMs: now - 60_000,
      events: [{ reason: 'OOMKilled', message: '', count: 1, lastTimestamp: ago(1000) }],
    };
    expect(activeSignals(undeployed)).toEqual([]);
  });
});
