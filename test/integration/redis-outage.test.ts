import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedisServer, type RedisServerHandle } from '../../shared/redis-server.js'
import { eventually, message, onlyPartition, startStack, type Stack } from '../helpers/stack.js'

// A Redis of this test's own, so stopping it disturbs nobody else.
let redis: RedisServerHandle
let stack: Stack
const dir = mkdtempSync(join(tmpdir(), 'mq-outage-'))

before(async () => {
  redis = await startRedisServer({ dir })
  stack = await startStack({ env: { REDIS_URL: redis.url }, worker: false })
})
after(async () => {
  await stack.close()
  await redis.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('Redis away → 503 with Retry-After at once, never 202; Redis back → 202 without a restart', async () => {
  const post = () => stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com') })
  assert.equal((await post()).statusCode, 202)

  await redis.stop()
  const started = Date.now()
  const down = await post()
  assert.equal(down.statusCode, 503, down.body)
  assert.ok(Number(down.headers['retry-after']) > 0)
  assert.ok(Date.now() - started < 5000, 'the answer does not hang')
  assert.equal((await stack.api.inject({ url: '/readyz' })).statusCode, 503)

  redis = await startRedisServer({ dir, port: redis.port })
  const res = await eventually(async () => {
    const r = await post()
    return r.statusCode === 202 ? r : undefined
  }, 'ingest to recover')
  assert.equal(res.json().status, 'queued')
  // Ingest writes on a connection of its own: the others reconnect in their own time.
  await eventually(async () => (await stack.api.inject({ url: '/readyz' })).statusCode === 200 || undefined, '/readyz to recover')
  // The message accepted before the outage survived it (append-only file).
  const counts = await onlyPartition(stack).queue.getJobCounts('wait')
  assert.ok((counts.wait ?? 0) >= 2)
})
