import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort, startRedisServer, type RedisServerHandle } from '../shared/redis-server.js'
import { entryExists, startService, waitForHttp, type Service } from './processes.js'

/** Built entry files (`npm run bench` builds first): what `npm start` and its siblings run. */
export const ENTRIES = {
  sim: 'dist/services/mailgun-sim/main.js',
  api: 'dist/services/api/server.js',
  worker: 'dist/services/worker/main.js',
  bare: 'dist/bench/baseline/bare-route.js',
  naiveApi: 'dist/bench/baseline/naive-api.js',
  naiveWorker: 'dist/bench/baseline/naive-worker.js'
} as const

/**
 * The node flags package.json's start script gives an entry (`node <flags> <entry>`), so the
 * benchmark runs each mailqueue service exactly as `npm run start:*` does. The baselines get none.
 */
function startFlags (entry: string): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }
  for (const script of Object.values(pkg.scripts)) {
    const words = script.trim().split(/\s+/)
    if (words[0] === 'node' && words.at(-1) === entry) return words.slice(1, -1)
  }
  return []
}

export const DOMAIN = 'bench.test'

/** What every scenario shares: one private Redis, one simulator, one config file. */
export interface Stack {
  redis: RedisServerHandle
  /** Admin connection of the bench itself (INFO, FLUSHALL on this private server only). */
  admin: Redis
  sim: Service
  simUrl: string
  dir: string
  logDir: string
  configFile: string
  clientKey: string
  sendingKey: string
}

export async function startStack (): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'mailqueue-bench-'))
  const clientKey = `bench-client-${randomBytes(16).toString('hex')}`
  const sendingKey = `key-bench-${randomBytes(16).toString('hex')}`
  const configFile = join(dir, 'mailqueue.json')
  writeFileSync(configFile, JSON.stringify({
    clients: [{ name: 'bench', key: clientKey, domains: ['*'] }],
    domains: [{ name: DOMAIN, region: 'us', sendingKey }]
  }, null, 2))
  if (!entryExists(ENTRIES.sim)) throw new Error(`the Mailgun simulator (${ENTRIES.sim}) is missing`)
  const redis = await startRedisServer()
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  admin.on('error', () => {}) // failures surface through the commands themselves
  try {
    const simPort = await freePort()
    let simUrl = `http://127.0.0.1:${simPort}`
    const sim = await startService({
      name: 'mailgun-sim',
      entry: ENTRIES.sim,
      logDir: dir,
      env: { SIM_PORT: String(simPort), SIM_HOST: '127.0.0.1', SIM_DOMAINS: `${DOMAIN}:${sendingKey}`, SIM_MODE: 'fast' },
      ready: async (svc) => {
        const m = await svc.waitForLine(/mailgun-sim listening on (\S+)/)
        simUrl = (m[1] ?? simUrl).replace(/\/$/, '')
      }
    })
    return { redis, admin, sim, simUrl, dir, logDir: dir, configFile, clientKey, sendingKey }
  } catch (err) {
    admin.disconnect()
    await redis.stop()
    throw err
  }
}

export async function stopStack (stack: Stack, keepLogs: boolean): Promise<void> {
  await stack.sim.stop()
  stack.admin.disconnect()
  await stack.redis.stop()
  if (!keepLogs) rmSync(stack.dir, { recursive: true, force: true })
}

/** Empties the private Redis between scenarios (never called while a service is connected). */
export async function flushRedis (stack: Stack): Promise<void> {
  await stack.admin.flushall()
}

export async function redisUsedMemory (stack: Stack): Promise<number> {
  const info = await stack.admin.info('memory')
  const m = /^used_memory:(\d+)/m.exec(info)
  if (!m?.[1]) throw new Error('INFO memory has no used_memory')
  return Number(m[1])
}

export interface HttpService { svc: Service, url: string }

function serviceEnv (stack: Stack, port: number): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: stack.redis.url,
    CONFIG_FILE: stack.configFile,
    LOG_LEVEL: 'warn',
    MAILGUN_API_BASE_US: stack.simUrl
  }
}

/**
 * Environment that points mailqueue at another Redis than the stack's: a Redis Cluster
 * (`REDIS_CLUSTER_NODES`, which wins over REDIS_URL) and partitioned queues (`QUEUE_PARTITIONS`).
 */
export type RedisEnv = Partial<Record<'REDIS_CLUSTER_NODES' | 'QUEUE_PARTITIONS', string>>

async function startHttp (stack: Stack, name: string, entry: string, nodeArgs: readonly string[] = [], redisEnv: RedisEnv = {}): Promise<HttpService> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const svc = await startService({
    name,
    entry,
    nodeArgs,
    logDir: stack.logDir,
    env: { ...serviceEnv(stack, port), ...redisEnv },
    ready: async (s) => { await waitForHttp(s, `${url}/readyz`) }
  })
  return { svc, url }
}

export const mailqueueAvailable = (): { api: boolean, worker: boolean } =>
  ({ api: entryExists(ENTRIES.api), worker: entryExists(ENTRIES.worker) })

export async function startMailqueueApi (stack: Stack, redisEnv: RedisEnv = {}): Promise<HttpService> {
  return await startHttp(stack, 'mailqueue-api', ENTRIES.api, startFlags(ENTRIES.api), redisEnv)
}

/**
 * Ready once its /readyz (on WORKER_PORT) answers; callers still wait for a delivered message.
 * Several may run at once (each on its own port); they share the name, so their CPU adds up.
 */
export async function startMailqueueWorker (stack: Stack, redisEnv: RedisEnv = {}): Promise<Service> {
  const port = await freePort()
  return await startService({
    name: 'mailqueue-worker',
    entry: ENTRIES.worker,
    nodeArgs: startFlags(ENTRIES.worker),
    logDir: stack.logDir,
    env: { ...serviceEnv(stack, port), ...redisEnv, WORKER_PORT: String(port), WORKER_CONCURRENCY: '50', WORKER_REGIONS: 'us' },
    ready: async (s) => { await waitForHttp(s, `http://127.0.0.1:${port}/readyz`) }
  })
}

export async function startBareRoute (stack: Stack): Promise<HttpService> {
  return await startHttp(stack, 'baseline-bare', ENTRIES.bare)
}

export async function startNaiveApi (stack: Stack): Promise<HttpService> {
  return await startHttp(stack, 'baseline-naive-api', ENTRIES.naiveApi)
}

export async function startNaiveWorker (stack: Stack): Promise<Service> {
  return await startService({
    name: 'baseline-naive-worker',
    entry: ENTRIES.naiveWorker,
    logDir: stack.logDir,
    env: { REDIS_URL: stack.redis.url, SIM_URL: stack.simUrl, SENDING_KEY: stack.sendingKey, CONCURRENCY: '50' },
    ready: async (s) => { await s.waitForLine(/naive-worker ready/) }
  })
}
