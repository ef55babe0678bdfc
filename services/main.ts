/**
 * `npm start`: API and worker in one process. Zero config works: without REDIS_URL and with
 * nothing answering on 127.0.0.1:6379 it runs a private redis-server (append-only file under
 * ./.data/redis); without a config file it runs sandbox mode against the built-in simulator.
 */
import { randomBytes } from 'node:crypto'
import { createConnection } from 'node:net'
import { resolve } from 'node:path'
import { createProcessLogger } from '../shared/logger.js'
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

const redisGiven = ['REDIS_URL', 'REDIS_URL_US', 'REDIS_URL_EU'].some((v) => process.env[v])
let redis: RedisServerHandle | null = null
if (!redisGiven && !(await answers('127.0.0.1', 6379))) {
  try {
    redis = await startRedisServer({ dir: resolve('.data/redis') })
  } catch (err) {
    process.stderr.write(`mailqueue: ${(err as Error).message}\n`)
    process.exit(1)
  }
}
let config = loadConfigOrExit(redis ? { REDIS_URL: redis.url } : {})
let simulator: Simulator | null = null
let clientKey: string | null = null
if (config.configFile === null) {
  const sendingKey = `sandbox-${randomBytes(12).toString('hex')}`
  simulator = await startSimulator({ domains: [{ name: SANDBOX_DOMAIN, sendingKey }] })
  const sandbox = sandboxConfig(config, simulator.url, sendingKey)
  config = sandbox.config
  clientKey = sandbox.clientKey
}

const logger = createProcessLogger(config)
const apiLinks = openRegionLinks(config, 'producer', configuredRegions(config))
const workerLinks = openRegionLinks(config, 'worker', configuredRegions(config).filter((r) => config.workerRegions.includes(r)))
const client = createMailgunClient({ baseUrl: config.mailgunBase, timeoutMs: config.sendTimeoutMs, connections: config.workerConcurrency })
const metrics = createMetrics(apiLinks)
const worker = await startWorker({ config, links: workerLinks, logger, client, metrics })
const app = await buildApi({ config, links: apiLinks, logger, metrics })

await warnAboutUnsafeRedis(apiLinks, logger)
onShutdown(async () => {
  await app.close()
  await worker.close()
  await client.close()
  await Promise.all([apiLinks.close(), workerLinks.close()])
  await simulator?.close()
  await redis?.stop()
})

await app.listen({ host: config.host, port: config.port })
const base = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${config.port}`
say(`mailqueue is running: API and worker in one process`)
say(`  API:   ${base}   (OpenAPI UI: ${base}/docs, metrics: ${base}/metrics)`)
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
