import { hash } from 'node:crypto'
import { isIPv4 } from 'node:net'
import { Value } from '@sinclair/typebox/value'
import type { TSchema } from '@sinclair/typebox'
import { EnvSchema, FileSchema, type Env, type Region, type ConfigFile, type LogFormat } from './config-schema.js'
import { ConfigError } from './errors.js'
import { Secret } from './secret.js'
import { describeSchemaError } from './schema-errors.js'

export type { Region } from './config-schema.js'

export interface DomainConfig {
  readonly name: string
  readonly region: Region
  readonly sendingKey: Secret
  readonly webhookSigningKey: Secret | null
  /** The account key, for the Events API only (verify before retry); null = no verification. */
  readonly primaryKey: Secret | null
  /** Sends per second across every worker process; null = unlimited. */
  readonly ratePerSecond: number | null
}

/** A Redis Cluster seed node. */
export interface ClusterNode { readonly host: string, readonly port: number }

/** Where a region's queue and records live: one Redis, or a Redis Cluster. */
export type RedisTarget =
  | { readonly kind: 'single', readonly url: string }
  | {
    readonly kind: 'cluster'
    readonly nodes: readonly ClusterNode[]
    readonly username?: string
    readonly password?: Secret
    readonly tls: boolean
  }

export interface ClientConfig {
  readonly name: string
  /** SHA-256 of the client key; the key itself is never kept. */
  readonly keySha256: Buffer
  /** Domains this client may send for; '*' = all. */
  readonly domains: ReadonlySet<string> | '*'
  /** Messages per second this client may queue, across every API process; null = unlimited. */
  readonly ratePerSecond: number | null
}

export interface Config {
  /** The senders file in use; null = none found (npm start then runs sandbox mode). */
  readonly configFile: string | null
  readonly redis: Readonly<Record<Region, RedisTarget>>
  /** BullMQ queues per region (QUEUE_PARTITIONS). */
  readonly queuePartitions: number
  readonly host: string
  readonly port: number
  /** Where a worker process serves /healthz, /readyz and /metrics. */
  readonly workerPort: number
  readonly mailgunBase: Readonly<Record<Region, string>>
  readonly workerRegions: readonly Region[]
  readonly workerConcurrency: number
  readonly maxAttempts: number
  readonly sendTimeoutMs: number
  /** Wait after an ambiguous attempt before the Events API lookup, in milliseconds. */
  readonly verifyAfterMs: number
  readonly outcomeTtlDays: number
  readonly logLevel: string
  /** null: pretty when stdout is a terminal, JSON otherwise (decided by the entry file). */
  readonly logFormat: LogFormat | null
  readonly backoffBaseMs: number
  readonly backoffCapMs: number
  /** BullMQ job lock, in milliseconds: how soon a crashed worker's jobs can be taken over. */
  readonly lockDurationMs: number
  /** BullMQ stalled-job check interval, in milliseconds. */
  readonly stalledIntervalMs: number
  /** Region outage length after which held messages fail, in hours. */
  readonly outageLimitHours: number
  /** Redis key prefix (MAILQUEUE_PREFIX). */
  readonly prefix: string
  readonly clients: readonly ClientConfig[]
  readonly domains: ReadonlyMap<string, DomainConfig>
}

export interface ConfigSources {
  env: Record<string, string | undefined>
  /** Returns the file's text, or null when it does not exist. */
  readFile: (path: string) => string | null
}

const DEFAULT_FILE = './mailqueue.json'

/** The only reader of the environment and of mailqueue.json. Throws ConfigError with one line. */
export function loadConfig ({ env, readFile }: ConfigSources): Config {
  const e = check(EnvSchema, pick(env, EnvSchema), 'environment')
  const file = e.CONFIG_FILE ?? DEFAULT_FILE
  const text = readFile(file)
  if (text === null && e.CONFIG_FILE) throw new ConfigError(`${file}: file not found (CONFIG_FILE)`)
  const senders = text === null ? { clients: [], domains: new Map<string, DomainConfig>() } : parseFile(file, text, env)
  return deepFreeze({
    configFile: text === null ? null : file,
    redis: { us: redisTarget(e, 'US'), eu: redisTarget(e, 'EU') },
    queuePartitions: e.QUEUE_PARTITIONS,
    // Sandbox mode runs a generated key against the simulator: on every interface it would be an
    // open relay, and a habit carried to production. HOST opens it on purpose.
    host: e.HOST ?? (text === null ? '127.0.0.1' : '0.0.0.0'),
    port: e.PORT,
    workerPort: e.WORKER_PORT,
    mailgunBase: { us: mailgunBase(e.MAILGUN_API_BASE_US, 'MAILGUN_API_BASE_US'), eu: mailgunBase(e.MAILGUN_API_BASE_EU, 'MAILGUN_API_BASE_EU') },
    workerRegions: [...new Set(e.WORKER_REGIONS.split(','))] as Region[],
    workerConcurrency: e.WORKER_CONCURRENCY,
    maxAttempts: e.MAX_ATTEMPTS,
    sendTimeoutMs: e.SEND_TIMEOUT_MS,
    verifyAfterMs: e.VERIFY_AFTER_MS,
    outcomeTtlDays: e.OUTCOME_TTL_DAYS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? null,
    backoffBaseMs: e.BACKOFF_BASE_MS,
    backoffCapMs: e.BACKOFF_CAP_MS,
    outageLimitHours: e.OUTAGE_LIMIT_HOURS,
    lockDurationMs: e.LOCK_DURATION_MS,
    stalledIntervalMs: e.STALLED_INTERVAL_MS,
    prefix: e.MAILQUEUE_PREFIX,
    ...senders
  })
}

/** A region's Redis: its own cluster nodes, else the shared ones, else its own URL, else REDIS_URL. */
function redisTarget (e: Env, region: 'US' | 'EU'): RedisTarget {
  const nodesVar = e[`REDIS_CLUSTER_NODES_${region}`] !== undefined ? `REDIS_CLUSTER_NODES_${region}` as const : 'REDIS_CLUSTER_NODES' as const
  const nodes = e[nodesVar]
  if (nodes !== undefined) return clusterTarget(nodes, nodesVar)
  return { kind: 'single', url: e[`REDIS_URL_${region}`] ?? e.REDIS_URL }
}

/** `host:port,host:port` or `redis[s]://[user:pass@]host:port,…`; every node shares one set of credentials. */
function clusterTarget (list: string, variable: string): RedisTarget {
  const seeds = list.split(',').map((s) => s.trim()).filter(Boolean).map((seed) => {
    let url: URL
    try {
      url = new URL(/^rediss?:\/\//.test(seed) ? seed : `redis://${seed}`)
    } catch {
      throw new ConfigError(`environment: ${variable} has a node that is not host:port or a redis:// URL: "${seed.replace(/\/\/[^@/]*@/, '//…@')}"`)
    }
    if (!url.hostname || !url.port) throw new ConfigError(`environment: ${variable} needs host:port for every node`)
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), username: decodeURIComponent(url.username), password: decodeURIComponent(url.password), tls: url.protocol === 'rediss:' }
  })
  if (seeds.length === 0) throw new ConfigError(`environment: ${variable} lists no node`)
  const [first] = seeds as [typeof seeds[number]]
  if (seeds.some((s) => s.username !== first.username || s.password !== first.password || s.tls !== first.tls)) {
    throw new ConfigError(`environment: ${variable}: every node must use the same scheme and credentials`)
  }
  return {
    kind: 'cluster',
    nodes: seeds.map(({ host, port }) => ({ host, port })),
    ...(first.username ? { username: first.username } : {}),
    ...(first.password ? { password: new Secret(first.password) } : {}),
    tls: first.tls
  }
}

function parseFile (file: string, text: string, env: ConfigSources['env']): Pick<Config, 'clients' | 'domains'> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON (${(err as Error).message})`)
  }
  const raw = check(FileSchema, resolveEnvRefs(json, '', file, env), file)
  return { domains: domainsOf(raw, file), clients: clientsOf(raw, file) }
}

function domainsOf (raw: ConfigFile, file: string): Map<string, DomainConfig> {
  const domains = new Map<string, DomainConfig>()
  raw.domains.forEach((d, i) => {
    const name = d.name.toLowerCase()
    if (domains.has(name)) throw new ConfigError(`${file}: domains[${i}].name repeats domain "${d.name}"`)
    domains.set(name, {
      name,
      region: d.region,
      sendingKey: new Secret(d.sendingKey),
      webhookSigningKey: d.webhookSigningKey ? new Secret(d.webhookSigningKey) : null,
      primaryKey: d.primaryKey ? new Secret(d.primaryKey) : null,
      ratePerSecond: d.ratePerSecond ?? null
    })
  })
  return domains
}

function clientsOf (raw: ConfigFile, file: string): ClientConfig[] {
  const known = new Set(raw.domains.map((d) => d.name.toLowerCase()))
  return raw.clients.map((c, i) => {
    if ((c.key === undefined) === (c.keySha256 === undefined)) {
      throw new ConfigError(`${file}: clients[${i}] needs exactly one of "key" or "keySha256"`)
    }
    const keySha256 = c.key !== undefined ? sha256(c.key) : Buffer.from(c.keySha256 as string, 'hex')
    const ratePerSecond = c.ratePerSecond ?? null
    if (c.domains.includes('*')) return { name: c.name, keySha256, domains: '*' as const, ratePerSecond }
    c.domains.forEach((d, j) => {
      if (!known.has(d.toLowerCase())) throw new ConfigError(`${file}: clients[${i}].domains[${j}] "${d}" is not a configured domain`)
    })
    return { name: c.name, keySha256, domains: new Set(c.domains.map((d) => d.toLowerCase())), ratePerSecond }
  })
}

export function sha256 (text: string): Buffer {
  return hash('sha256', text, 'buffer')
}

/** The same digest as hex: how the API looks a presented key up (one call, no Buffer). */
export function sha256Hex (text: string): string {
  return hash('sha256', text, 'hex')
}

/** Replaces every "env:NAME" string by that variable's value; a missing variable is a config error. */
function resolveEnvRefs (value: unknown, path: string, file: string, env: ConfigSources['env']): unknown {
  if (typeof value === 'string' && value.startsWith('env:')) {
    const name = value.slice(4)
    const resolved = env[name]
    if (resolved === undefined || resolved === '') throw new ConfigError(`${file}: ${path} refers to env:${name}, which is not set`)
    return resolved
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnvRefs(v, `${path}[${i}]`, file, env))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnvRefs(v, path ? `${path}.${k}` : k, file, env)]))
  }
  return value
}

function pick (env: ConfigSources['env'], schema: typeof EnvSchema): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of Object.keys(schema.properties)) {
    const v = env[key]
    if (v !== undefined && v !== '') out[key] = v
  }
  return out
}

function check<T extends TSchema> (schema: T, input: unknown, where: string): import('@sinclair/typebox').Static<T> {
  const value = Value.Convert(schema, Value.Default(schema, Value.Clone(input)))
  const first = Value.Errors(schema, value).First()
  if (first) throw new ConfigError(`${where}: ${describeSchemaError(first)}`)
  return value as import('@sinclair/typebox').Static<T>
}

/**
 * A Mailgun base URL: https, or plain http to a loopback address (127.0.0.0/8, ::1, localhost),
 * where a local simulator or proxy listens. The sending key goes in every request's Authorization
 * header, so anything else would send it in clear text over a network.
 */
function mailgunBase (value: string, variable: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`environment: ${variable} is not a URL`)
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || (isIPv4(url.hostname) && url.hostname.startsWith('127.'))
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(`environment: ${variable} must be an https URL (plain http only to a loopback address: 127.0.0.0/8, ::1, localhost)`)
  }
  return value.replace(/\/+$/, '')
}

function deepFreeze<T> (obj: T): T {
  if (obj && typeof obj === 'object' && !(obj instanceof Secret) && !Buffer.isBuffer(obj)) {
    for (const v of (obj instanceof Map ? obj.values() : obj instanceof Set ? [] : Object.values(obj))) deepFreeze(v)
    Object.freeze(obj)
  }
  return obj
}

