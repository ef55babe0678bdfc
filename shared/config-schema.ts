import { Type, type Static } from '@sinclair/typebox'

export const REGIONS = ['us', 'eu'] as const
export type Region = typeof REGIONS[number]

const Region = Type.Union(REGIONS.map((r) => Type.Literal(r)))

/** json: one JSON object a line, for log collectors. pretty: readable lines for a person at a terminal. */
export const LOG_FORMATS = ['pretty', 'json'] as const
export type LogFormat = typeof LOG_FORMATS[number]

/** Environment variables (CONTRACT.md "Configuration"); defaults live here, next to their meaning. */
export const EnvSchema = Type.Object({
  CONFIG_FILE: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://' }),
  REDIS_URL_US: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_URL_EU: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** Redis Cluster seed nodes, `host:port,host:port` or `redis://user:pass@host:port,…`; replaces REDIS_URL. */
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_CLUSTER_NODES_US: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_CLUSTER_NODES_EU: Type.Optional(Type.String({ minLength: 1 })),
  /** BullMQ queues per region, each in its own hash slot (spread over a cluster's masters). */
  QUEUE_PARTITIONS: Type.Integer({ default: 1, minimum: 1, maximum: 256 }),
  /** API listen address; without it 0.0.0.0, or 127.0.0.1 in sandbox mode (no config file), see config.ts. */
  HOST: Type.Optional(Type.String({ minLength: 1 })),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  /** Where `npm run start:worker` serves /healthz, /readyz and /metrics (on HOST). */
  WORKER_PORT: Type.Integer({ default: 3001, minimum: 0, maximum: 65535 }),
  /** https, or plain http to a loopback address only (checked in config.ts): the sending key travels with every request. */
  MAILGUN_API_BASE_US: Type.String({ default: 'https://api.mailgun.net' }),
  MAILGUN_API_BASE_EU: Type.String({ default: 'https://api.eu.mailgun.net' }),
  WORKER_REGIONS: Type.String({ default: 'us,eu', pattern: '^(us|eu)(,(us|eu))*$' }),
  WORKER_CONCURRENCY: Type.Integer({ default: 50, minimum: 1, maximum: 10000 }),
  MAX_ATTEMPTS: Type.Integer({ default: 8, minimum: 1, maximum: 1000 }),
  SEND_TIMEOUT_MS: Type.Integer({ default: 30000, minimum: 100 }),
  /**
   * Wait after an ambiguous attempt before asking Mailgun's Events API whether it accepted the
   * message (domains with `primaryKey`), in milliseconds. Default 30 minutes: Mailgun's polling
   * guide trusts a page of events only once they are about half an hour old, so a "not found"
   * before then may be an event still on its way (README "Sending rules").
   */
  VERIFY_AFTER_MS: Type.Integer({ default: 1_800_000, minimum: 0 }),
  OUTCOME_TTL_DAYS: Type.Number({ default: 30, exclusiveMinimum: 0 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  /** `pretty` or `json`; unset: pretty when stdout is a terminal, JSON otherwise. */
  LOG_FORMAT: Type.Optional(Type.Union(LOG_FORMATS.map((f) => Type.Literal(f)))),
  /** First backoff ceiling of the exponential backoff with full jitter, in milliseconds. */
  BACKOFF_BASE_MS: Type.Integer({ default: 1000, minimum: 1 }),
  /** Largest backoff, in milliseconds. */
  BACKOFF_CAP_MS: Type.Integer({ default: 300000, minimum: 1 }),
  /** How long a worker's lock on a job lasts without renewal; a crashed worker's jobs return after it. */
  LOCK_DURATION_MS: Type.Integer({ default: 30000, minimum: 1000 }),
  /** How often workers look for jobs whose lock expired (a crashed worker's). */
  STALLED_INTERVAL_MS: Type.Integer({ default: 30000, minimum: 1000 }),
  /** A region outage shorter than this never fails a message; held messages fail after it. */
  OUTAGE_LIMIT_HOURS: Type.Number({ default: 72, exclusiveMinimum: 0 }),
  /** Redis key prefix; the outcome stream is `<prefix>:outcomes`. */
  MAILQUEUE_PREFIX: Type.String({ default: 'mailqueue', pattern: '^[A-Za-z0-9_.-]+$' })
})
export type Env = Static<typeof EnvSchema>

const SecretString = Type.String({ minLength: 1 })

/** The senders/clients file (`mailqueue.json`); any string may be `env:NAME`. */
export const FileSchema = Type.Object({
  clients: Type.Array(Type.Object({
    name: Type.String({ minLength: 1 }),
    key: Type.Optional(SecretString),
    keySha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    domains: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    /** Messages per second this client may queue, across every API process (429 above it); absent = unlimited. */
    ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0 }))
  }, { additionalProperties: false })),
  domains: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9.-]+$' }),
    region: Region,
    sendingKey: SecretString,
    webhookSigningKey: Type.Optional(SecretString),
    /** The Mailgun account key: only ever reads the Events API (verify before retry), never sends. */
    primaryKey: Type.Optional(SecretString),
    /** Sends per second for this domain across every worker process; absent = unlimited. */
    ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0 }))
  }, { additionalProperties: false }), { minItems: 1 })
}, { additionalProperties: false })
export type ConfigFile = Static<typeof FileSchema>
