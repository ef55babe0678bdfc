import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { redisSafetyWarnings } from '../../shared/redis.js'
import { startRedisServer } from '../../shared/redis-server.js'
import { eventually, message, onlyPartition, startStack, type Stack } from '../helpers/stack.js'

let stack: Stack
before(async () => { stack = await startStack({ worker: false }) })
after(async () => { await stack.close() })

test('/readyz names stalled workers, and stays 200 while Redis answers', async () => {
  const link = stack.links.get('us')
  const { queue } = onlyPartition(stack)
  await eventually(async () => (await stack.api.inject({ url: '/readyz' })).statusCode === 200 || undefined, 'ready')
  const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com') })
  assert.equal(res.statusCode, 202)
  assert.equal((await stack.api.inject({ url: '/readyz' })).statusCode, 200, 'fresh work is no alarm')

  // A job that has waited two minutes with no consumer heartbeat at all.
  const job = await queue.getJob(res.json().id)
  await queue.add('send', job!.data, { jobId: 'us-old', timestamp: Date.now() - 120_000 })
  await queue.remove(res.json().id)
  const stalled = await stack.api.inject({ url: '/readyz' })
  assert.equal(stalled.statusCode, 200, 'a stuck worker fleet must not take the API out of its load balancer')
  assert.deepEqual(stalled.json(), { status: 'ready', regions: { us: 'workers stalled' } })

  await link.storeRedis.set(link.keys.progress, String(Date.now()))
  const alive = await stack.api.inject({ url: '/readyz' })
  assert.deepEqual(alive.json().regions, { us: 'up' }, 'a recent heartbeat means consumers are alive')
})

test('start-up warnings name an evicting or non-persistent Redis, and stay quiet for a safe one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mq-safe-'))
  const safe = await startRedisServer({ dir })
  const client = new Redis(safe.url)
  t.after(async () => { client.disconnect(); await safe.stop(); rmSync(dir, { recursive: true, force: true }) })
  assert.deepEqual(await redisSafetyWarnings(client), [])
  await client.config('SET', 'maxmemory-policy', 'allkeys-lru')
  await client.config('SET', 'appendonly', 'no')
  const warnings = await redisSafetyWarnings(client)
  assert.equal(warnings.length, 2)
  assert.match(warnings[0] ?? '', /allkeys-lru/)
  assert.match(warnings[1] ?? '', /append-only/)
})
