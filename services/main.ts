/**
 * `npm start`: API and worker in one process. Zero config works: without REDIS_URL and with
 * nothing answering on 127.0.0.1:6379 (or with PRIVATE_REDIS=1) it runs a private redis-server
 * (append-only file under ./.data/redis); without a config file it runs sandbox mode against the
 * built-in simulator. SIGTERM or SIGINT stops everything, last started first: the API stops
 * taking requests, the worker finishes its sends, the private redis-server stops last.
 */
import { randomBytes } from 'node:crypto'
import { createConnection } from 'node:net'
import { resolve } from 'node:path'
import { createProcessLogger, type Logger } from '../shared/logger.js'
import { createMetrics } from '../shared/metrics.js'
import { loadConfigOrExit, onShutdown } from '../shared/process.js'
import { configuredRegions, openRegionLinks } from '../shared/region-link.js'
import { startRedisServer, type RedisServerHandle } from '../shared/redis-server.js'
import { buildApi } from './api/app.js'
import { startSimulator, type Simulator } from './mailgun-sim/server.js'
import { SANDBOX_DOMAIN, sandboxConfig } from './sandbox.js'
import { createMailgunClient } from './worker/mailgun-client.js'
import { startWorker } from './worker/worker.js'
import { describeRedis, warnAboutUnsafeRedis } from '../shared/startup.js'

const say = (line = ''): void => { process.stdout.write(line + '\n') }

async function answers (host: string, port: number): Promise<boolean> {
  return await new Promise((done) => {
    const socket = createConnection({ host, port, timeout: 500 })
    socket.once('connect', () => { socket.destroy(); done(true) })
    socket.once('timeout', () => { socket.destroy(); done(false) })
    socket.once('error', () => done(false))
  })
}

function fail (message: string): never {
  process.stderr.write(`mailqueue: ${message}\n`)
  process.exit(1)
}

/** PRIVATE_REDIS=1: run the private redis-server even when another Redis answers on 6379. */
function privateRedisWanted (redisGiven: string | undefined): boolean {
  const wanted = process.env.PRIVATE_REDIS ?? ''
  if (!['', '0', '1'].includes(wanted)) fail(`PRIVATE_REDIS must be 1 or 0, not "${wanted}"`)
  if (wanted === '1' && redisGiven) fail(`PRIVATE_REDIS=1 and ${redisGiven} are both set: choose one`)
  return wanted === '1'
}

// What is running, in start order; registered before anything starts, so a signal at any point
// stops what runs so far (anything else: the private redis-server is stopped on exit regardless).
const running: Array<() => Promise<unknown>> = []
let logger: Logger | null = null
onShutdown(async (signal) => {
  logger?.info({ signal }, 'stopping: finishing sends in flight')
  for (const stop of [...running].reverse()) await stop()
})

const redisGiven = ['REDIS_URL', 'REDIS_URL_US', 'REDIS_URL_EU', 'REDIS_CLUSTER_NODES', 'REDIS_CLUSTER_NODES_US', 'REDIS_CLUSTER_NODES_EU']
  .find((v) => process.env[v])
let redis: RedisServerHandle | null = null
if (privateRedisWanted(redisGiven) || (!redisGiven && !(await answers('127.0.0.1', 6379)))) {
  const server = await startRedisServer({ dir: resolve('.data/redis'), ownProcessGroup: true })
    .catch((err: Error) => fail(err.message))
  running.push(() => server.stop())
  redis = server
  say(`started a private redis-server on ${redis.url} (data in .data/redis)`)
}
let config = loadConfigOrExit(redis ? { REDIS_URL: redis.url } : {})
let simulator: Simulator | null = null
let clientKey: string | null = null
if (config.configFile === null) {
  const sendingKey = `sandbox-${randomBytes(12).toString('hex')}`
  const sim = await startSimulator({ domains: [{ name: SANDBOX_DOMAIN, sendingKey }] })
  running.push(() => sim.close())
  simulator = sim
  const sandbox = sandboxConfig(config, simulator.url, sendingKey)
  config = sandbox.config
  clientKey = sandbox.clientKey
}

logger = createProcessLogger(config)
const apiLinks = openRegionLinks(config, 'producer', configuredRegions(config))
const workerLinks = openRegionLinks(config, 'worker', configuredRegions(config).filter((r) => config.workerRegions.includes(r)))
running.push(() => Promise.all([apiLinks.close(), workerLinks.close()]))
const client = createMailgunClient({ baseUrl: config.mailgunBase, timeoutMs: config.sendTimeoutMs, connections: config.workerConcurrency })
running.push(() => client.close())
const metrics = createMetrics(apiLinks)
const worker = await startWorker({ config, links: workerLinks, logger, client, metrics })
running.push(() => worker.close())
const app = await buildApi({ config, links: apiLinks, logger, metrics })
running.push(() => app.close())

await warnAboutUnsafeRedis(apiLinks, logger)
await app.listen({ host: config.host, port: config.port })
const base = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${config.port}`
say(`mailqueue is running: API and worker in one process`)
say(`  API:   ${base}   (dashboard: ${base}/dashboard, OpenAPI UI: ${base}/docs, metrics: ${base}/metrics)`)
const redisInUse = redis ? `private redis-server on ${redis.url} (data in .data/redis)` : describeRedis(config, configuredRegions(config))
say(`  Redis: ${redisInUse}`)
if (clientKey !== null && simulator !== null) {
  say(`  sandbox mode: no config file, so messages for ${SANDBOX_DOMAIN} go to a local Mailgun simulator at ${simulator.url}`)
  say(`  client key: ${clientKey}`)
  say()
  say('Send a message:')
  say(`  curl -s -X POST ${base}/v1/messages -H 'Authorization: Bearer ${clientKey}' -H 'Content-Type: application/json' \\`)
  say(`    -d '{"domain":"${SANDBOX_DOMAIN}","from":"Sandbox <hello@${SANDBOX_DOMAIN}>","to":["you@example.com"],"subject":"Hello","text":"It works"}'`)
  say('Then read its record (use the id from the answer):')
  say(`  curl -s ${base}/v1/messages/ID -H 'Authorization: Bearer ${clientKey}'`)
} else {
  say(`  config: ${config.configFile}; domains: ${[...config.domains.keys()].join(', ')}`)
}
