// Built-in alerts from what the platform sees, with no rule to write: a replica OOM-killed, a crash loop, a
// rollout that does not finish, replicas restarting again and again, a service endpoint with no ready replica.
// The cluster events users know from Kubernetes tools, judged per binding. Pure: the evaluator supplies the
// binding's live status, its recent events and how long a condition has held.

export const platformSignalNames = [
  'OOMKilled',
  'CrashLoopBackOff',
  'RolloutStuck',
  'RestartingRepeatedly',
  'NoReadyReplica',
] as const;
export type PlatformSignal = (typeof platformSignalNames)[number];

/** Runtime events after which the signals are judged again at once. */
export const platformSignalReasons: ReadonlySet<string> = new Set([
  'OOMKilled',
  'BackOff',
  'Failed',
  'Unhealthy',
  'Scaled',
  'Killed',
]);

/** The rule name platform-signal alerts carry (`Platform/OOMKilled`). */
export const platformRule = (signal: PlatformSignal): string => `Platform/${signal}`;

export interface PlatformSignalSettings {
  /** An OOM kill is over once its component ran this long without another (the leak, or the spike, is gone). */
  readonly quietMs: number;
  /** Restarts (BackOff) counted over this window… */
  readonly restartWindowMs: number;
  /** …this many or more are "restarting repeatedly", even when each replica ran long enough to reset its streak. */
  readonly restartsAtLeast: number;
  /** A rollout still progressing this long after it began is stuck (Kubernetes' progressDeadlineSeconds: 600). */
  readonly rolloutDeadlineMs: number;
  /** A service without a ready replica for this long is down (a replica restarting in place takes seconds). */
  readonly noReadyForMs: number;
}

export const defaultPlatformSignalSettings: PlatformSignalSettings = {
  quietMs: 5 * 60_000,
  restartWindowMs: 10 * 60_000,
  restartsAtLeast: 3,
  rolloutDeadlineMs: 5 * 60_000,
  noReadyForMs: 20_000,
};

/** What the evaluator knows of one binding. */
export interface BindingFacts {
  readonly component: string;
  readonly environment: string;
  readonly state: 'Active' | 'Undeploy';
  readonly phase: string;
  readonly message: string | null;
  readonly release: string | null;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  /** It serves a port (an endpoint callers reach). */
  readonly serves: boolean;
  /** Its events last seen within the longest window above, any order. */
  readonly events: readonly { reason: string; message: string; count: number; lastTimestamp: string }[];
  /** Since when (epoch ms) it has been progressing (rolling out) without a break; undefined when it is not. */
  readonly progressingSinceMs: number | undefined;
  /** Since when (epoch ms) it has had no ready replica outside a rollout; undefined when it has one. */
  readonly unreadySinceMs: number | undefined;
}

export interface SignalObservation {
  readonly signal: PlatformSignal;
  readonly active: boolean;
  readonly severity: 'critical' | 'warning';
  readonly value: number;
  readonly summary: string;
}

/** Every signal of one binding: active ones fire, inactive ones resolve what fired before. */
export function judgePlatformSignals(
  facts: BindingFacts,
  nowMs: number,
  settings: PlatformSignalSettings = defaultPlatformSignalSettings,
): SignalObservation[] {
  const where = `${facts.component} in ${facts.environment}`;
  const active = facts.state === 'Active';
  const within = (windowMs: number) =>
    facts.events.filter((event) => Date.parse(event.lastTimestamp) >= nowMs - windowMs);
  const ooms = within(settings.quietMs).filter((event) => event.reason === 'OOMKilled');
  const oomCount = ooms.reduce((sum, event) => sum + event.count, 0);
  const restarts = within(settings.restartWindowMs)
    .filter((event) => event.reason === 'BackOff')
    .reduce((sum, event) => sum + event.count, 0);
  const progressingMs = facts.progressingSinceMs === undefined ? 0 : nowMs - facts.progressingSinceMs;
  const unreadyMs = facts.unreadySinceMs === undefined ? 0 : nowMs - facts.unreadySinceMs;
  const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;
  return [
    {
      signal: 'OOMKilled',
      active: active && oomCount > 0,
      severity: 'warning',
      value: oomCount,
      summary:
        oomCount > 0
          ? `${where}: a replica was OOM-killed ${Math.round((nowMs - Math.max(...ooms.map((event) => Date.parse(event.lastTimestamp)))) / 1000)} s ago (${oomCount} recorded recently): ${ooms[0]?.message ?? ''}`
          : `${where}: no OOM kill in the last ${minutes(settings.quietMs)}`,
    },
    {
      signal: 'CrashLoopBackOff',
      active: active && facts.phase === 'CrashLoopBackOff',
      severity: 'critical',
      value: restarts,
      summary:
        facts.phase === 'CrashLoopBackOff'
          ? `${where} is in CrashLoopBackOff: ${facts.message ?? 'a replica keeps failing'}`
          : `${where} is ${facts.phase}`,
    },
    {
      signal: 'RolloutStuck',
      active: active && progressingMs >= settings.rolloutDeadlineMs,
      severity: 'warning',
      value: Math.round(progressingMs / 1000),
      summary:
        progressingMs >= settings.rolloutDeadlineMs
          ? `${where}: the rollout of ${facts.release ?? 'its release'} has not finished after ${minutes(progressingMs)} (${facts.message ?? 'progressing'})`
          : `${where}: no rollout past its deadline`,
    },
    {
      signal: 'RestartingRepeatedly',
      active: active && restarts >= settings.restartsAtLeast,
      severity: 'warning',
      value: restarts,
      summary: `${where}: ${restarts} replica restart${restarts === 1 ? '' : 's'} in the last ${minutes(settings.restartWindowMs)}`,
    },
    {
      signal: 'NoReadyReplica',
      active:
        active && facts.serves && facts.unreadySinceMs !== undefined && unreadyMs >= settings.noReadyForMs,
      severity: 'critical',
      value: facts.readyReplicas,
      summary:
        facts.unreadySinceMs !== undefined
          ? `${where} has no ready replica (${facts.readyReplicas}/${facts.desiredReplicas} ready for ${Math.round(unreadyMs / 1000)} s): its endpoint refuses every call`
          : `${where} has ${facts.readyReplicas}/${facts.desiredReplicas} replicas ready`,
    },
  ];
}

/** A binding is unready when it serves, is not mid-rollout, and no replica is ready (scaled to zero included). */
export function isUnready(status: {
  readonly state: 'Active' | 'Undeploy';
  readonly phase: string;
  readonly readyReplicas: number;
}): boolean {
  return status.state === 'Active' && status.phase !== 'Progressing' && status.readyReplicas === 0;
}
