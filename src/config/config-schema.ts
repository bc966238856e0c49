// The one configuration schema. Every key has a default, so opspilot runs with no file and no env.
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().min(10);

const booleanFromText = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  return value;
}, z.boolean());

export const localRuntimeConfigSchema = z.strictObject({
  /** How often replica cpu/memory is sampled and memory limits are enforced. */
  sampleIntervalMs: positiveMs.default(1000),
  /** Delay before the first restart of a failed replica; doubles per consecutive failure. */
  restartInitialDelayMs: positiveMs.default(1000),
  restartMaxDelayMs: positiveMs.default(60_000),
  /** Consecutive failures after which a replica is reported as CrashLoopBackOff. */
  crashLoopThreshold: z.coerce.number().int().min(1).default(3),
  /** A replica that stays up this long has its failure streak (and back-off) reset. */
  stableAfterSeconds: z.coerce.number().min(1).default(30),
  /** Time between SIGTERM and SIGKILL when a replica is stopped. */
  terminationGraceSeconds: z.coerce.number().min(0).default(5),
  /** Lines of stdout/stderr kept in memory per replica for `opspilot logs`. */
  logBufferLines: z.coerce.number().int().min(0).default(2000),
  /** Rotate a replica's captured output file when it grows past this many bytes. */
  logFileMaxBytes: z.coerce
    .number()
    .int()
    .min(4096)
    .default(10 * 1024 * 1024),
  /**
   * How replicas and build steps are kept from opspilot's privileges (docs/runtime.md). auto: `user` when
   * opspilot runs as root, else `sandbox`; user: every workload runs as an unprivileged uid of its own (needs
   * root); sandbox: inside bubblewrap, without the data dir; none: with opspilot's own privileges — they can
   * read its data dir.
   */
  isolation: z.enum(['auto', 'user', 'sandbox', 'none']).default('auto'),
  /** First uid (and gid) of the range `user` isolation gives workloads; none of them needs a passwd entry. */
  userIdStart: z.coerce.number().int().min(1000).max(0x7f00_0000).default(0x7000_0000),
  userIdCount: z.coerce.number().int().min(1).max(0x0100_0000).default(65_536),
  /** auto: enforce limits through cgroup v2, else v1, where opspilot can create cgroups; off: poll memory only. */
  cgroups: z.enum(['auto', 'off']).default('auto'),
});

const grantSchema = z.strictObject({
  role: z.enum(['viewer', 'developer', 'operator', 'platform-admin', 'rca-agent', 'sre-agent']),
  /** A namespace, or `*` for every namespace. */
  namespace: z.string().min(1),
  project: z.string().optional(),
  component: z.string().optional(),
  environment: z.string().optional(),
});

const externalIssuerSchema = z.strictObject({
  /** Expected `iss` of the tokens. */
  issuer: z.url(),
  /** Accepted `aud` values (at least one must be in the token). */
  audience: z.union([z.string(), z.array(z.string()).min(1)]),
  jwksUrl: z.url(),
  /** Claim holding the user's groups or roles (dots reach into objects, e.g. `realm_access.roles`). */
  roleClaim: z.string().default('groups'),
  /** Claim value → grants. A token whose claim values map to nothing has no roles (RoleBindings may add some). */
  roleMapping: z.record(z.string(), z.array(grantSchema)).default({}),
  /** Claim naming the subject (default `sub`; `email` or `preferred_username` read better in audit). */
  subjectClaim: z.string().default('sub'),
  /**
   * The dashboard signs in with this issuer (OpenID Connect authorization code + PKCE, as a public client
   * registered there with the dashboard's URL as redirect URI). The issuer must allow CORS from the dashboard.
   */
  dashboard: z
    .strictObject({
      clientId: z.string().min(1),
      scopes: z.string().default('openid profile email'),
      /** Shown on the sign-in button. */
      name: z.string().min(1).optional(),
    })
    .optional(),
});

const serviceAccountSchema = z.strictObject({
  clientId: z.string().min(1),
  /** `sha256:<hex>` of the client secret; the secret itself is never stored. */
  secretSha256: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>'),
  kind: z.enum(['service', 'agent']).default('service'),
  /** Autonomy level for agents: 1 advise, 2 supervised, 3 autonomous within level-3 guardrails. */
  autonomy: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(2),
  grants: z.array(grantSchema).min(1),
});

const guardrailLimitsSchema = z.strictObject({
  maxTenants: z.coerce.number().int().min(1),
  maxCapacityChangePercent: z.coerce.number().positive(),
  maxServices: z.coerce.number().int().min(1),
  rollbackBudgetSeconds: z.coerce.number().positive(),
});

const freezeWindowSchema = z.strictObject({
  name: z.string().min(1),
  /** Namespaces and environments it covers; unset means all. */
  namespaces: z.array(z.string()).optional(),
  environments: z.array(z.string()).optional(),
  start: z.iso.datetime({ offset: true }),
  end: z.iso.datetime({ offset: true }),
});

const guardrailPolicySchema = z.strictObject({
  maxScaleUpFactor: z.coerce.number().min(1).optional(),
  minProductionReplicas: z.coerce.number().int().min(0).optional(),
  cooldownSeconds: z.coerce.number().min(0).optional(),
  maxConcurrentActions: z.coerce.number().int().min(1).optional(),
  /** Writes in production wait for another principal's approval. */
  productionApproval: booleanFromText.optional(),
  /** Let autonomy level 3 agents run production writes within level-3 limits without approval. */
  autonomousInProduction: booleanFromText.optional(),
  supervised: guardrailLimitsSchema.partial().optional(),
  autonomous: guardrailLimitsSchema.partial().optional(),
});

const notificationChannelSchema = z
  .strictObject({
    name: z.string().min(1),
    type: z.enum(['slack', 'pagerduty', 'webhook']),
    /** Slack incoming-webhook URL, any webhook URL, or the PagerDuty Events API v2 URL (has a default). */
    webhookUrl: z.url().optional(),
    /** PagerDuty: the integration's routing key. */
    routingKey: z.string().min(1).optional(),
    /** Only reports of these namespaces (default: all). */
    namespaces: z.array(z.string()).optional(),
    /** Only reports of alerts at least this severe. */
    minSeverity: z.enum(['info', 'warning', 'critical']).default('info'),
  })
  .superRefine((channel, context) => {
    if (channel.type !== 'pagerduty' && channel.webhookUrl === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['webhookUrl'],
        message: `a ${channel.type} channel needs webhookUrl`,
      });
    }
    if (channel.type === 'pagerduty' && channel.routingKey === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['routingKey'],
        message: 'a pagerduty channel needs routingKey',
      });
    }
  });
export type NotificationChannel = z.infer<typeof notificationChannelSchema>;

const busUrlPatterns = {
  redis: { pattern: /^rediss?:\/\//, example: 'redis://HOST:6379', fallback: 'redis://127.0.0.1:6379' },
  nats: {
    pattern: /^(nats|tls):\/\/[^,]+(,(nats|tls):\/\/[^,]+)*$/,
    example: 'nats://HOST:4222',
    fallback: 'nats://127.0.0.1:4222',
  },
} as const;

/** The agents' event bus (docs/agents.md, "The agent bus"). */
const agentBusSchema = z
  .strictObject({
    /** `embedded`: tables in the state database (SQLite or PostgreSQL); `redis`: Redis Streams; `nats`: JetStream. */
    kind: z.enum(['embedded', 'redis', 'nats']).default('embedded'),
    /** The broker for redis (default redis://127.0.0.1:6379) and nats (default nats://127.0.0.1:4222). */
    url: z.string().min(1).optional(),
  })
  .superRefine((bus, context) => {
    if (bus.kind === 'embedded') {
      if (bus.url !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['url'],
          message:
            'the embedded bus lives in the state database (state.url) and takes no url; set kind: redis or nats to use a broker',
        });
      }
      return;
    }
    const expected = busUrlPatterns[bus.kind];
    if (bus.url !== undefined && !expected.pattern.test(bus.url)) {
      context.addIssue({
        code: 'custom',
        path: ['url'],
        message: `a ${bus.kind} bus needs a URL like ${expected.example}`,
      });
    }
  })
  .transform((bus) => ({
    kind: bus.kind,
    url: bus.kind === 'embedded' ? undefined : (bus.url ?? busUrlPatterns[bus.kind].fallback),
  }));

export const configSchema = z.strictObject({
  /** Where the state database, runtime records and captured output live. */
  dataDir: z.string().min(1).default('./.opspilot'),
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(7400),
      /**
       * The URL clients reach this server at (a reverse proxy, a load balancer, a name other than the listen
       * address), e.g. https://opspilot.example.com. Unset: the address the server listens on. It names the MCP
       * resources (their token audience), the /.well-known metadata and the built-in issuer.
       */
      publicUrl: z
        .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
        .refine((text) => {
          const url = URL.parse(text);
          return url === null || (url.pathname === '/' && url.search === '' && url.hash === '');
        }, 'expected an origin only (scheme, host and port), without a path, query or fragment')
        .transform((text) => new URL(text).origin)
        .optional(),
    })
    .prefault({}),
  state: z
    .strictObject({
      /** `postgres://…` for PostgreSQL; unset means a SQLite file `state.db` in the data dir. */
      url: z
        .string()
        .regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'expected postgres://… or sqlite:PATH')
        .optional(),
    })
    .prefault({}),
  runtime: z
    .strictObject({
      kind: z.enum(['local']).default('local'),
      local: localRuntimeConfigSchema.prefault({}),
    })
    .prefault({}),
  otlp: z
    .strictObject({
      /** Serve the OTLP/HTTP receiver (/v1/traces, /v1/metrics, /v1/logs). */
      enabled: booleanFromText.default(true),
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(4318),
      /**
       * Bearer tokens on ingest. `auto`: required from every peer but this machine (replicas of the local runtime
       * and a local collector send without one); `required`: from everyone; `none`: never. Tokens need the
       * `otlp` audience (`opspilot token create --audience otlp`) and write only into their grants' namespaces.
       */
      auth: z.enum(['auto', 'required', 'none']).default('auto'),
      /** Largest request body as sent; larger ones get 413. */
      maxBodyBytes: z.coerce
        .number()
        .int()
        .min(1024)
        .default(16 * 1024 * 1024),
      /** Largest body after gzip decompression; decompression stops there and the request gets 413. */
      maxDecompressedBytes: z.coerce
        .number()
        .int()
        .min(1024)
        .default(32 * 1024 * 1024),
      /**
       * Decompressed bytes of the requests being read, decoded or committed at once; past it clients get 503 +
       * Retry-After (a request alone may always use maxDecompressedBytes).
       */
      maxInflightBytes: z.coerce
        .number()
        .int()
        .min(1024)
        .default(64 * 1024 * 1024),
      /** Characters of a log body kept; the rest is cut and marked `…[truncated: N more characters]`. */
      maxLogBodyLength: z.coerce
        .number()
        .int()
        .min(16)
        .default(64 * 1024),
      /** Characters of a string attribute value kept, at any depth; the rest is cut and marked. */
      maxAttributeValueLength: z.coerce
        .number()
        .int()
        .min(16)
        .default(16 * 1024),
      /** Attributes of a record, resource or span event (and entries of an array or map value); more are dropped. */
      maxAttributes: z.coerce.number().int().min(1).default(128),
      /** Characters of span, event, metric and scope names, units, severity texts, status messages; cut past it. */
      maxNameLength: z.coerce.number().int().min(16).default(1024),
      /** Events of one span; more are dropped. */
      maxSpanEvents: z.coerce.number().int().min(0).default(128),
    })
    .prefault({}),
  telemetry: z
    .strictObject({
      /** Logs, spans and metric points older than this are deleted in the background. */
      retentionDays: z.coerce.number().positive().default(7),
      /**
       * Longest wait before received telemetry is committed (and acknowledged). 0: commit as soon as the
       * requests at hand are appended, so that a busy receiver commits bigger batches and an idle one answers at once.
       */
      flushIntervalMs: z.coerce.number().int().min(0).default(0),
      /** Commit at once when this many records wait. */
      maxBatchRecords: z.coerce.number().int().min(1).default(20_000),
      /** Past this many uncommitted records, OTLP clients get 429 + Retry-After. */
      maxPendingRecords: z.coerce.number().int().min(1).default(200_000),
      /** DuckDB worker threads (default: one per core). */
      threads: z.coerce.number().int().min(1).optional(),
      /** DuckDB memory limit, e.g. 2GB (default: DuckDB's, 80% of RAM). */
      memoryLimit: z.string().optional(),
      /** Interval at which replicas export metrics (OTEL_METRIC_EXPORT_INTERVAL injected into replicas). */
      replicaMetricIntervalMs: z.coerce.number().int().min(100).default(10_000),
    })
    .prefault({}),
  alerting: z
    .strictObject({
      /** How often AlertRules and SLOs are evaluated. */
      evaluationIntervalMs: z.coerce.number().int().min(100).default(15_000),
      /** A rollout still progressing this long is reported as the built-in RolloutStuck alert. */
      rolloutDeadlineMs: z.coerce.number().int().min(100).default(300_000),
    })
    .prefault({}),
  events: z
    .strictObject({
      /** Events last seen longer ago than this are deleted (checked hourly). */
      retentionDays: z.coerce.number().positive().default(7),
    })
    .prefault({}),
  reconciler: z
    .strictObject({
      /** Full resync period; changes made through opspilot are reconciled at once. */
      resyncIntervalMs: positiveMs.default(5000),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /**
       * `iss` of the built-in issuer's tokens (`opspilot token create`, client_credentials, agents). Unset:
       * `server.publicUrl`, else the address the server listens on.
       */
      issuer: z.string().min(1).optional(),
      /** `aud` of built-in tokens; MCP endpoints also accept their own resource URL (RFC 8707). */
      audience: z.string().min(1).default('opspilot'),
      /** Lifetime of tokens from `POST /oauth/token` and of the admin token printed at start. */
      tokenTtl: z.string().default('12h'),
      externalIssuers: z.array(externalIssuerSchema).default([]),
      serviceAccounts: z.array(serviceAccountSchema).default([]),
      /** Print an admin token and MCP client snippets at start, and keep it in <dataDir>/auth/admin.token. */
      printAdminToken: booleanFromText.default(true),
    })
    .prefault({}),
  governance: z
    .strictObject({
      /** Defaults for every namespace and environment (see docs/governance.md for the built-in values). */
      guardrails: guardrailPolicySchema.default({}),
      /** Overrides by `namespace`, `namespace/environment` or `*\/environment`; the most specific key wins. */
      overrides: z.record(z.string(), guardrailPolicySchema).default({}),
      freezeWindows: z.array(freezeWindowSchema).default([]),
      /** Time an approved proposal has to become healthy before its compensating action runs. */
      verifyTimeoutSeconds: z.coerce.number().positive().optional(),
      /** Pending proposals expire after this long. */
      proposalTtl: z.string().default('24h'),
      /** Lifetime of an MCP requestState (the confirmation round trip). */
      requestStateTtl: z.string().default('10m'),
      /** On PostgreSQL: how often RoleBindings changed by other opspilot instances are reloaded. */
      roleBindingSyncSeconds: z.coerce.number().positive().default(5),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /**
       * The audit chain's HMAC secret and checkpoint signing key (created at first start, mode 0600). Default
       * `<dataDir>/auth/audit-key.json`; instances sharing one PostgreSQL database must all use the same file.
       */
      keyFile: z.string().min(1).optional(),
      /** Signed chain heads, kept apart from the database. Default `<dataDir>/audit/checkpoints.jsonl`. */
      checkpointsFile: z.string().min(1).optional(),
      /** Longest time a new record waits for a checkpoint (records after the last one can vanish unseen). */
      checkpointIntervalMs: z.coerce.number().int().min(100).default(1000),
      /** Checkpoint at once when this many records arrived since the last one. */
      checkpointEveryRecords: z.coerce.number().int().min(1).default(100),
    })
    .prefault({}),
  llm: z
    .strictObject({
      /** Unset: no LLM; reports get the deterministic narrative and chat answers from the report. */
      provider: z.enum(['openai-compatible', 'anthropic']).optional(),
      /** e.g. https://api.openai.com/v1, http://localhost:11434/v1 (Ollama), https://api.anthropic.com/v1 */
      baseUrl: z.url().optional(),
      model: z.string().min(1).optional(),
      apiKey: z.string().optional(),
      /** Longest wait for the narrative; past it the deterministic one is used. */
      timeoutMs: z.coerce.number().int().min(100).default(15_000),
      maxOutputTokens: z.coerce.number().int().min(16).default(600),
      /** Chat: read-only tool calls (logs, metrics, traces, status, events) the LLM may make per answer; 0: none. */
      maxToolSteps: z.coerce.number().int().min(0).max(20).default(5),
      /** USD per million tokens, for the cost recorded with each report. */
      inputPricePerMillion: z.coerce.number().min(0).default(0),
      outputPricePerMillion: z.coerce.number().min(0).default(0),
      /** Shown against this month's LLM cost on the dashboard's Cost view (USD); unset: no budget. */
      monthlyBudgetUsd: z.coerce.number().positive().optional(),
    })
    .superRefine((llm, context) => {
      if (llm.provider !== undefined && llm.model === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['model'],
          message: `llm.provider ${llm.provider} needs llm.model`,
        });
      }
      if (llm.provider === 'openai-compatible' && llm.baseUrl === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['baseUrl'],
          message: 'an openai-compatible llm needs llm.baseUrl',
        });
      }
    })
    .prefault({}),
  notifications: z
    .strictObject({
      /** Where finished RCA reports are announced. */
      channels: z.array(notificationChannelSchema).default([]),
      /** Base URL of links in messages (default: the server's own address). */
      dashboardUrl: z.url().optional(),
      /** Per delivery attempt. */
      timeoutMs: z.coerce.number().int().min(100).default(5000),
      /** Attempts per message (with backoff) before it is given up and logged. */
      attempts: z.coerce.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  mcp: z
    .strictObject({
      /** Hide every tool that is not read-only, on both servers. */
      readOnly: booleanFromText.default(false),
      /** Toolsets switched off, e.g. [writes, workflows, audit]. */
      disabledToolsets: z.array(z.string()).default([]),
      /** Text returned per tool call before the output is cut (with a cursor for the rest). */
      maxOutputBytes: z.coerce.number().int().min(512).default(8192),
      /** Folder of runbook files (Markdown) served as `runbook://NAME` resources. */
      runbooksDir: z.string().optional(),
      /**
       * Host names MCP requests may address besides loopback ones (DNS-rebinding protection applies while the
       * server listens on loopback; add the name a reverse proxy forwards).
       */
      allowedHosts: z.array(z.string()).default([]),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      /** `pretty` for people at a terminal, `json` for log shippers. */
      format: z.enum(['pretty', 'json']).default('pretty'),
    })
    .prefault({}),
  agents: z
    .strictObject({
      bus: agentBusSchema.prefault({}),
    })
    .prefault({}),
  demo: z
    .strictObject({
      /** Print the URLs of demo endpoints once they are ready. */
      printUrls: booleanFromText.default(true),
    })
    .prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type LocalRuntimeConfig = z.output<typeof localRuntimeConfigSchema>;
export type AgentBusConfig = Config['agents']['bus'];
