import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config, type Region } from '../../shared/config.js'
import { createLogger } from '../../shared/logger.js'
import type { Status } from '../../shared/records.js'
import { createMetrics } from '../../shared/metrics.js'
import { configuredRegions, openRegionLinks, type Partition, type RegionLinks } from '../../shared/region-link.js'
import { buildApi } from '../../services/api/app.js'
import { startSimulator, type Simulator } from '../../services/mailgun-sim/server.js'
import { createMailgunClient, type MailgunClient } from '../../services/worker/mailgun-client.js'
import { startWorker, type RunningWorker } from '../../services/worker/worker.js'
import { testClusterNodes, testRedisUrl, uniquePrefix } from './redis.js'

export interface StackDomain {
  name: string
  region: Region
  ratePerSecond?: number
  /** false: the domain has no webhookSigningKey (default true). */
  webhookKey?: boolean
  /** true: the domain carries its simulator's account key as `primaryKey` (verify before retry). */
  primaryKey?: boolean
}

export interface StackOptions {
  domains?: StackDomain[]
  /** Extra clients: name → allowed domains. A client "main" with ["*"] always exists. */
  clients?: Record<string, string[]>
  /** ratePerSecond of clients (by name, "main" included). */
  clientRates?: Record<string, number>
  env?: Record<string, string>
  /** Start the worker (default true). */
  worker?: boolean
  /** Run on the test run's Redis Cluster instead of its single Redis (see testClusterNodes). */
  cluster?: boolean
  /** QUEUE_PARTITIONS (default 1; 3 on a cluster). */
  partitions?: number
}

export interface Stack {
  api: FastifyInstance
  config: Config
  sims: Record<Region, Simulator>
  /** Client keys by client name. */
  clientKeys: Record<string, string>
  sendingKeys: Record<string, string>
  webhookKeys: Record<string, string>
  /** Each simulator's account key (the only key its Events API takes). */
  accountKeys: Record<Region, string>
  /** Every log line the stack wrote (level trace), for secret scans. */
  logs: string[]
  links: RegionLinks
  worker: RunningWorker | null
  /** Starts the worker of a stack made with `worker: false` (to set state it must see at start). */
  startWorker(): Promise<void>
  /** Authorization header for a client. */
  auth(client?: string): { authorization: string }
  close(): Promise<void>
}

const secret = (label: string): string => `${label}-${randomBytes(10).toString('hex')}`

/** The whole pipeline in this process: real Redis, two real simulators (us, eu), API and worker. */
export async function startStack (opts: StackOptions = {}): Promise<Stack> {
  const domains = opts.domains ?? [{ name: 'mg.example.com', region: 'us' }]
  const sendingKeys = Object.fromEntries(domains.map((d) => [d.name, secret('sending')]))
  const webhookKeys = Object.fromEntries(domains.map((d) => [d.name, secret('webhook')]))
  const clientKeys: Record<string, string> = { main: secret('client') }
  for (const name of Object.keys(opts.clients ?? {})) clientKeys[name] = secret('client')
  const accountKeys: Record<Region, string> = { us: secret('account'), eu: secret('account') }
  const simOf = (region: Region): Promise<Simulator> => startSimulator({
    domains: domains.filter((d) => d.region === region).map((d) => ({ name: d.name, sendingKey: sendingKeys[d.name] as string })),
    accountKey: accountKeys[region]
  })
  const sims = { us: await simOf('us'), eu: await simOf('eu') }
  const file = {
    clients: [['main', ['*']] as const, ...Object.entries(opts.clients ?? {})].map(([name, ds]) => ({
      name, key: clientKeys[name], domains: ds, ...(opts.clientRates?.[name] ? { ratePerSecond: opts.clientRates[name] } : {})
    })),
    domains: domains.map((d) => ({
      name: d.name, region: d.region, sendingKey: sendingKeys[d.name],
      ...(d.webhookKey === false ? {} : { webhookSigningKey: webhookKeys[d.name] }),
      ...(d.ratePerSecond ? { ratePerSecond: d.ratePerSecond } : {}),
      ...(d.primaryKey ? { primaryKey: accountKeys[d.region] } : {})
    }))
  }
  const config = loadConfig({
    env: {
      REDIS_URL: testRedisUrl(),
      ...(opts.cluster ? { REDIS_CLUSTER_NODES: clusterNodes() } : {}),
      QUEUE_PARTITIONS: String(opts.partitions ?? (opts.cluster ? 3 : 1)),
      MAILQUEUE_PREFIX: uniquePrefix(),
      MAILGUN_API_BASE_US: sims.us.url,
      MAILGUN_API_BASE_EU: sims.eu.url,
      CONFIG_FILE: 'stack.json',
      BACKOFF_BASE_MS: '50',
      BACKOFF_CAP_MS: '500',
      SEND_TIMEOUT_MS: '2000',
      WORKER_CONCURRENCY: '20',
      // A killed worker's (or Redis's) jobs come back in seconds rather than BullMQ's default 30 s.
      LOCK_DURATION_MS: '5000',
      STALLED_INTERVAL_MS: '2000',
      ...opts.env
    },
    readFile: () => JSON.stringify(file)
  })
  const logs: string[] = []
  const logger = createLogger('trace', { write: (line: string) => { logs.push(line) } })
  const regions = configuredRegions(config)
  const links = openRegionLinks(config, 'producer', regions)
  const workerLinks = openRegionLinks(config, 'worker', regions)
  // The API's connections keep no offline queue: wait until they are up, as a deployment would.
  await eventually(() => [...links.links.values()].every((l) => l.queueRedis.status === 'ready' && l.storeRedis.status === 'ready') || undefined, 'redis connections ready')
  const client: MailgunClient = createMailgunClient({ baseUrl: config.mailgunBase, timeoutMs: config.sendTimeoutMs, connections: 20 })
  const metrics = createMetrics(links)
  const launchWorker = (): Promise<RunningWorker> => startWorker({ config, links: workerLinks, logger, client, metrics })
  const worker = opts.worker === false ? null : await launchWorker()
  const api = await buildApi({ config, links, logger, metrics })
  await api.ready()
  const stack: Stack = {
    api, config, sims, clientKeys, sendingKeys, webhookKeys, accountKeys, logs, links, worker,
    auth: (name = 'main') => ({ authorization: `Bearer ${clientKeys[name]}` }),
    async startWorker () {
      assert.equal(stack.worker, null, 'the worker is already running')
      stack.worker = await launchWorker()
    },
    async close () {
      await api.close()
      await stack.worker?.close()
      await client.close()
      await Promise.all([links.close(), workerLinks.close()])
      await Promise.all([sims.us.close(), sims.eu.close()])
    }
  }
  return stack
}

function clusterNodes (): string {
  const nodes = testClusterNodes()
  if (nodes === null) throw new Error('no Redis Cluster in this test run: skip cluster tests with clusterSkip()')
  return nodes
}

/** For `describe(name, { skip: clusterSkip() }, …)`: why a cluster test cannot run here, or false. */
export function clusterSkip (): string | false {
  return testClusterNodes() === null ? 'no Redis Cluster on this machine (redis-server and redis-cli on PATH start one)' : false
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T> (check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15000): Promise<Exclude<T, undefined>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value as Exclude<T, undefined>
    } catch (err) { last = err }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export function message (domain: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { domain, from: `Shop <shop@${domain}>`, to: ['user@example.com'], subject: 'Hi', text: 'Hello', ...extra }
}

export interface Accepted { id: string, messageId: string }

/**
 * Queues `n` messages through POST /v1/messages/batch (1000 per request). A batch answers
 * {index, id} per message (CONTRACT.md); a native message's Message-Id is <uuid@domain>, its id
 * <region>-<uuid>.
 */
export async function accept (stack: Stack, domain: string, n: number): Promise<Accepted[]> {
  const out: Accepted[] = []
  for (let i = 0; i < n; i += 1000) {
    const messages = Array.from({ length: Math.min(1000, n - i) }, (_, j) => message(domain, { subject: `n${i + j}` }))
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages/batch', headers: stack.auth(), payload: { messages } })
    assert.equal(res.statusCode, 202, res.body)
    for (const r of res.json().results as Array<{ index: number, id?: string, error?: string }>) {
      assert.equal(r.error, undefined)
      assert.equal(r.index, out.length - i)
      const id = r.id as string
      out.push({ id, messageId: `<${id.slice(3)}@${domain}>` })
    }
  }
  return out
}

/** messageId → how many times the region's simulator accepted it. */
export function arrivals (stack: Pick<Stack, 'sims'>, region: Region = 'us'): Map<string, number> {
  const seen = new Map<string, number>()
  for (const m of stack.sims[region].received()) seen.set(m.messageId ?? '', (seen.get(m.messageId ?? '') ?? 0) + 1)
  return seen
}

/** Every accepted message reached the us simulator exactly once. */
export function assertEachOnce (stack: Pick<Stack, 'sims'>, accepted: readonly Accepted[]): void {
  const seen = arrivals(stack)
  for (const a of accepted) assert.equal(seen.get(a.messageId), 1, `${a.messageId} arrived exactly once`)
}

/** Status of each message's stored record (null: no record written yet). */
export async function statusesOf (stack: Stack, ids: readonly string[]): Promise<Array<Status | null>> {
  return await Promise.all(ids.map(async (id) => (await partitionOf(stack, id).store.read(id))?.status ?? null))
}

/** The partition a message lives in. */
export function partitionOf (stack: Pick<Stack, 'links'>, id: string): Partition {
  const partition = stack.links.partitionOf(id)
  if (!partition) throw new Error(`no partition for ${id}`)
  return partition
}

/** The one partition of a region of a stack started without QUEUE_PARTITIONS. */
export function onlyPartition (stack: Pick<Stack, 'links'>, region: Region = 'us'): Partition {
  const [partition, ...more] = stack.links.get(region).current
  if (!partition || more.length > 0) throw new Error(`region ${region} has ${more.length + 1} partitions`)
  return partition
}
