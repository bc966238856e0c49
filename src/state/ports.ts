// The state store port: a generic, versioned store of declarative resources plus the event and
// workflow-log journals. It knows nothing of resource kinds; the platform parses and validates specs.

export interface ResourceRecord {
  readonly uid: string;
  readonly kind: string;
  /** Empty for cluster-scoped kinds (Namespace). */
  readonly namespace: string;
  readonly name: string;
  /** Denormalised references, indexed so that lookups by owner stay cheap. */
  readonly project: string | null;
  readonly component: string | null;
  readonly environment: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: unknown;
  readonly status: unknown;
  /** Incremented on every spec/metadata change; used for optimistic concurrency. */
  readonly generation: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ResourceKey {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export interface ResourceFilter {
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly project?: string | undefined;
  readonly component?: string | undefined;
  readonly environment?: string | undefined;
}

export interface ResourceRepository {
  /**
   * Reads one resource. Inside a transaction, `forUpdate` locks it until commit so that a read-modify-write
   * (a release counter) cannot interleave with another transaction's.
   */
  get(key: ResourceKey, options?: { forUpdate?: boolean }): Promise<ResourceRecord | undefined>;
  /** Ordered by namespace, then name. */
  list(filter: ResourceFilter): Promise<ResourceRecord[]>;
  /** Throws ConflictError when a resource with the same key exists. */
  insert(record: ResourceRecord): Promise<void>;
  /**
   * Replaces a resource's metadata and spec (not its status); throws ConflictError when its generation is no
   * longer `expectedGeneration`.
   */
  update(record: ResourceRecord, expectedGeneration: number): Promise<void>;
  /** Writes only the status; does not change the generation. Returns false when the resource is gone. */
  setStatus(key: ResourceKey, status: unknown, updatedAt: string): Promise<boolean>;
  delete(key: ResourceKey): Promise<boolean>;
}

export type EventType = 'Normal' | 'Warning';

export interface NewEvent {
  readonly namespace: string;
  readonly objectKind: string;
  readonly objectName: string;
  readonly project?: string | null;
  readonly component?: string | null;
  readonly environment?: string | null;
  readonly replica?: string | null;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
  readonly timestamp: string;
}

export interface EventRecord extends Required<NewEvent> {
  readonly id: number;
  /** How many times this same event repeated; repeats within the aggregation window are folded. */
  readonly count: number;
  readonly firstTimestamp: string;
  readonly lastTimestamp: string;
}

export interface EventFilter {
  readonly namespace?: string | undefined;
  readonly project?: string | undefined;
  readonly component?: string | undefined;
  readonly environment?: string | undefined;
  readonly objectKind?: string | undefined;
  readonly objectName?: string | undefined;
  readonly reason?: string | undefined;
  /** Only events last seen at or after this ISO time. */
  readonly since?: string | undefined;
  /** Newest first; defaults to 500. */
  readonly limit?: number | undefined;
}

export interface EventRepository {
  /** Records an event, folding it into the previous identical one when that was seen within `foldWindowMs`. */
  record(event: NewEvent, foldWindowMs?: number): Promise<void>;
  list(filter: EventFilter): Promise<EventRecord[]>;
  /** Deletes events last seen before the given ISO time; returns how many. */
  prune(before: string): Promise<number>;
}

export interface WorkflowLogLine {
  readonly runUid: string;
  readonly sequence: number;
  readonly timestamp: string;
  readonly step: string;
  readonly stream: 'stdout' | 'stderr' | 'system';
  readonly line: string;
}

export interface WorkflowLogRepository {
  append(lines: readonly WorkflowLogLine[]): Promise<void>;
  list(runUid: string, options?: { afterSequence?: number; limit?: number }): Promise<WorkflowLogLine[]>;
  deleteRun(runUid: string): Promise<void>;
}

export type AlertState = 'pending' | 'firing' | 'resolved';

/** One alert instance: a rule (or an Alertmanager alert) with one set of labels. */
export interface AlertRecord {
  readonly fingerprint: string;
  /** opspilot for its own rules and SLOs, alertmanager for alerts received on the webhook. */
  readonly source: string;
  /** `AlertRule/<name>`, `SLO/<name>` or the Alertmanager alertname. */
  readonly rule: string;
  readonly namespace: string;
  readonly component: string | null;
  readonly environment: string | null;
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: AlertState;
  readonly value: number | null;
  readonly summary: string;
  readonly triggerAiRca: boolean;
  /** Alerts with one group key are one incident (one investigation, one notification). */
  readonly groupKey: string;
  readonly startedAt: string;
  readonly firedAt: string | null;
  readonly resolvedAt: string | null;
  readonly updatedAt: string;
}

export interface AlertFilter {
  readonly namespace?: string | undefined;
  readonly state?: AlertState | undefined;
  readonly rule?: string | undefined;
  readonly groupKey?: string | undefined;
  readonly limit?: number | undefined;
}

export interface AlertEventRecord {
  readonly id: number;
  readonly fingerprint: string;
  readonly namespace: string;
  readonly rule: string;
  readonly state: AlertState;
  readonly at: string;
  readonly value: number | null;
  readonly message: string;
}

export interface AlertRepository {
  get(fingerprint: string): Promise<AlertRecord | undefined>;
  upsert(alert: AlertRecord): Promise<void>;
  /** Newest change first. */
  list(filter: AlertFilter): Promise<AlertRecord[]>;
  appendEvent(event: Omit<AlertEventRecord, 'id'>): Promise<void>;
  /** Newest first. */
  events(filter: {
    fingerprint?: string | undefined;
    namespace?: string | undefined;
    since?: string | undefined;
    limit?: number | undefined;
  }): Promise<AlertEventRecord[]>;
}

/**
 * One record of the audit chain. `hash` = HMAC-SHA256 under the audit key (kept outside this database) over
 * prevHash + the canonical JSON of every other field; records an opspilot before keyed audit wrote keep their
 * plain SHA-256 (see src/governance/audit).
 */
export interface AuditRecord {
  /** Position in the chain, from 1, without gaps. */
  readonly seq: number;
  readonly id: string;
  readonly at: string;
  readonly principal: string;
  readonly principalKind: string;
  /** The client software (MCP client name, `opspilot-cli`, user agent) and the edge it came through. */
  readonly client: string;
  readonly edge: string;
  readonly action: string;
  /** Empty for cluster-wide actions. */
  readonly namespace: string;
  readonly target: string;
  readonly argsDigest: string;
  readonly decision: string;
  readonly reasons: readonly string[];
  readonly result: string;
  /** Before/after for writes, proposal ids, error codes: whatever explains the record. */
  readonly details: unknown;
  readonly latencyMs: number;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditFilter {
  readonly namespace?: string | undefined;
  readonly principal?: string | undefined;
  readonly action?: string | undefined;
  /** Prefix of the target. */
  readonly target?: string | undefined;
  readonly decision?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  /** Only records with seq below this (paging newest-first). */
  readonly beforeSeq?: number | undefined;
  /** Newest first; defaults to 100. */
  readonly limit?: number | undefined;
}

export interface AuditRepository {
  /**
   * Serialises chain writers until the surrounding transaction ends (PostgreSQL: an advisory lock; SQLite runs
   * one transaction at a time anyway). Call it inside a transaction before reading the head.
   */
  lockChain(): Promise<void>;
  /** The last record, or undefined for an empty chain. */
  head(): Promise<AuditRecord | undefined>;
  append(records: readonly AuditRecord[]): Promise<void>;
  list(filter: AuditFilter): Promise<AuditRecord[]>;
  /** Records with seq > afterSeq in chain order, for verification. */
  scan(afterSeq: number, limit: number): Promise<AuditRecord[]>;
}

/** A proposal as stored: searchable columns plus the whole proposal document. */
export interface ProposalRecord {
  readonly id: string;
  readonly namespace: string;
  readonly status: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Incremented on every update; used for optimistic concurrency. */
  readonly version: number;
  readonly body: unknown;
}

export interface ProposalFilter {
  readonly namespace?: string | undefined;
  readonly statuses?: readonly string[] | undefined;
  readonly createdBy?: string | undefined;
  /** Newest first; defaults to 100. */
  readonly limit?: number | undefined;
}

export interface ProposalRepository {
  /**
   * Inside a transaction: waits until no other transaction holds the namespace, so that guardrail facts read
   * next (cooldowns, actions in flight) stay true until commit. SQLite runs one transaction at a time anyway.
   */
  lockNamespace(namespace: string): Promise<void>;
  get(id: string, options?: { forUpdate?: boolean }): Promise<ProposalRecord | undefined>;
  insert(record: ProposalRecord): Promise<void>;
  /** Throws ConflictError when the stored version is no longer `expectedVersion`. */
  update(record: ProposalRecord, expectedVersion: number): Promise<void>;
  list(filter: ProposalFilter): Promise<ProposalRecord[]>;
}

export interface RcaReportRecord {
  readonly id: string;
  readonly namespace: string;
  readonly status: string;
  readonly alertFingerprint: string;
  /** Alerts of one group share one investigation. */
  readonly groupKey: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly body: unknown;
}

export interface RcaReportFilter {
  readonly namespace?: string | undefined;
  readonly groupKey?: string | undefined;
  readonly statuses?: readonly string[] | undefined;
  /** Newest first; defaults to 50. */
  readonly limit?: number | undefined;
}

export interface RcaReportRepository {
  insert(record: RcaReportRecord): Promise<void>;
  /** Replaces status, body and updatedAt of an existing report. */
  update(record: RcaReportRecord): Promise<void>;
  get(id: string): Promise<RcaReportRecord | undefined>;
  list(filter: RcaReportFilter): Promise<RcaReportRecord[]>;
}

export interface StateRepositories {
  readonly resources: ResourceRepository;
  readonly events: EventRepository;
  readonly workflowLogs: WorkflowLogRepository;
  readonly alerts: AlertRepository;
  readonly audit: AuditRepository;
  readonly proposals: ProposalRepository;
  readonly rcaReports: RcaReportRepository;
}

/** A message of the embedded agent bus as stored; `body` is the event's JSON text. Times are epoch ms. */
export interface AgentBusMessage {
  readonly id: string;
  readonly topic: string;
  readonly tenant: string;
  readonly publishedAt: number;
  readonly body: string;
}

export interface AgentBusClaim {
  readonly seq: number;
  readonly topic: string;
  readonly body: string;
  /** Including this claim. */
  readonly deliveryCount: number;
}

export interface AgentBusParkedRecord {
  readonly group: string;
  readonly eventId: string | null;
  readonly topic: string;
  readonly reason: string;
  readonly deliveryCount: number;
  readonly parkedAt: number;
  readonly body: string;
}

/**
 * The tables of the embedded agent bus: an event log, and per consumer group a queue of unacknowledged
 * deliveries, a record of handled ids and the parked events. Each method is one atomic statement or transaction,
 * so that consumers in other processes sharing the database never take the same delivery at once.
 */
export interface AgentBusRepository {
  /** Stores the message and queues it for every group of its topic; false when its id was stored before. */
  append(message: AgentBusMessage): Promise<boolean>;
  /** Creates the group's subscription to a topic (from now on) unless it exists. */
  ensureGroup(group: string, topic: string, now: number): Promise<void>;
  /**
   * Leases up to `limit` deliveries of the group's topics that are due, oldest first, to `consumer` until
   * `leaseUntil`, counting the delivery.
   */
  claim(query: {
    group: string;
    consumer: string;
    topics: readonly string[];
    now: number;
    leaseUntil: number;
    limit: number;
  }): Promise<AgentBusClaim[]>;
  /** Records the event as handled by the group and removes the delivery, in one transaction. */
  complete(group: string, seq: number, eventId: string, now: number): Promise<void>;
  /** Makes the delivery due again at `availableAt`. */
  release(group: string, seq: number, availableAt: number): Promise<void>;
  /** Extends the consumer's lease; false when the delivery is no longer leased to it. */
  extend(group: string, seq: number, consumer: string, leaseUntil: number): Promise<boolean>;
  /** Moves the delivery to the group's parked events, in one transaction. */
  park(
    group: string,
    seq: number,
    entry: { eventId: string | null; reason: string; deliveryCount: number; parkedAt: number },
  ): Promise<void>;
  isProcessed(group: string, eventId: string): Promise<boolean>;
  /** Oldest first. */
  listParked(group: string, limit: number): Promise<AgentBusParkedRecord[]>;
  /**
   * Forgets handled ids older than `processedBefore` and deletes events published before `eventsBefore` that
   * no group still has to handle.
   */
  prune(processedBefore: number, eventsBefore: number): Promise<{ processed: number; events: number }>;
}

export interface StateStore extends StateRepositories {
  readonly dialect: 'sqlite' | 'postgres';
  /** Outside transactions: each of its methods is atomic on its own. */
  readonly agentBus: AgentBusRepository;
  /** Runs `work` atomically: every write inside commits together or not at all. */
  transaction<T>(work: (repositories: StateRepositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
