import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '../../shared/config.js'
import { createLogger } from '../../shared/logger.js'
import { createMetrics } from '../../shared/metrics.js'
import { startRedisServer } from '../../shared/redis-server.js'
import { openRegionLinks } from '../../shared/region-link.js'
import { buildWorkerHttp } from '../../services/worker/http.js'
import { cleanups } from '../helpers/cleanups.js'
import { uniquePrefix } from '../helpers/redis.js'
import { eventually } from '../helpers/stack.js'
import { sampleValue } from '../helpers/prometheus.js'

test('WORKER_PORT: 3001 unless set; a bad value names the variable', () => {
  assert.equal(loadConfig({ env: {}, readFile: () => null }).workerPort, 3001)
  assert.equal(loadConfig({ env: { WORKER_PORT: '9101' }, readFile: () => null }).workerPort, 9101)
  assert.throws(() => loadConfig({ env: { WORKER_PORT: 'http' }, readFile: () => null }), /^ConfigError: environment: WORKER_PORT/)
})

test('a worker process answers /healthz, /readyz and /metrics; /readyz is 503 while its Redis is away or it is stopping, 200 again after', async (t) => {
  const defer = cleanups(t)
  // A Redis of this test's own, to stop and start again.
  let redis = await startRedisServer()
  defer(() => redis.stop())
  const config = loadConfig({ env: { REDIS_URL: redis.url, MAILQUEUE_PREFIX: uniquePrefix() }, readFile: () => null })
  const links = openRegionLinks(config, 'worker', ['us', 'eu'])
  defer(() => links.close())
  const metrics = createMetrics(null)
  let stopping = false
  const app = buildWorkerHttp({ links, metrics, logger: createLogger('silent'), stopping: () => stopping })
  defer(() => app.close())

  assert.deepEqual((await app.inject({ url: '/healthz' })).json(), { status: 'ok' })
  const ready = await eventually(async () => {
    const res = await app.inject({ url: '/readyz' })
    return res.statusCode === 200 ? res : undefined
  }, 'ready once connected')
  assert.deepEqual(ready.json(), { status: 'ready', regions: { us: 'up', eu: 'up' } })

  metrics.sendSeconds.observe({ region: 'us', outcome: 'sent' }, 0.02)
  const scrape = await app.inject({ url: '/metrics' })
  assert.equal(scrape.statusCode, 200)
  assert.match(scrape.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/)
  assert.equal(sampleValue(scrape.body, 'mailqueue_send_duration_seconds_count', { region: 'us', outcome: 'sent' }), 1)
  assert.ok(sampleValue(scrape.body, 'process_resident_memory_bytes') !== undefined)
  assert.doesNotMatch(scrape.body, /mailqueue_queue_depth|mailqueue_outcomes_total/, 'cluster-wide values come from the API only')

  stopping = true
  const draining = await app.inject({ url: '/readyz' })
  assert.equal(draining.statusCode, 503)
  assert.equal(draining.headers['retry-after'], '2')
  assert.equal(draining.json().status, 'stopping')
  stopping = false

  await redis.stop()
  const down = await eventually(async () => {
    const res = await app.inject({ url: '/readyz' })
    return res.statusCode === 503 ? res : undefined
  }, '503 with Redis gone')
  assert.equal(down.headers['retry-after'], '2')
  assert.deepEqual(down.json(), { status: 'unavailable', regions: { us: 'redis down', eu: 'redis down' } })
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'the process is still up')
  assert.equal((await app.inject({ url: '/metrics' })).statusCode, 200, 'and still reports itself')

  redis = await startRedisServer({ port: redis.port })
  await eventually(async () => (await app.inject({ url: '/readyz' })).statusCode === 200 || undefined, 'ready again once Redis is back', 30_000)
})
