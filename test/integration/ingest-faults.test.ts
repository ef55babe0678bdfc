/**
 * Every ingest answer tells the truth under Redis faults: a 2xx is stored and sent exactly once,
 * a 503 (with Retry-After) is not stored, or its retry with the same Idempotency-Key makes exactly
 * one message. Each case runs on private redis-servers (paused, filled, killed) with the whole
 * pipeline in this process; deliveries are counted at the simulator.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { Region } from '../../shared/config.js'
import type { StoredJob } from '../../shared/queues.js'
import { startRedisServer, type RedisServerHandle } from '../../shared/redis-server.js'
import { cleanups, type Cleanup } from '../helpers/cleanups.js'
import { clusterSkip, eventually, message, partitionOf, startStack, type Stack, type StackOptions } from '../helpers/stack.js'

const US = 'mg.example.com'
const EU = 'mg.example.eu'
const BOTH = [{ name: US, region: 'us' as const }, { name: EU, region: 'eu' as const }]

interface Answer { status: number, body: Record<string, unknown>, headers: Record<string, unknown> }

interface PrivateRedis { server: RedisServerHandle, admin: Redis, restart(): Promise<void> }

/**
 * A private redis-server and an admin connection to it. Append-only with a write to disk per
 * command, so a restart after SIGKILL finds every write it answered.
 */
async function privateRedis (defer: Cleanup): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'mq-faults-'))
  const args = ['--appendfsync', 'always']
  const server = await startRedisServer({ dir, args })
  const admin = new Redis(server.url, { maxRetriesPerRequest: null })
  admin.on('error', () => {})
  const handle: PrivateRedis = { server, admin, restart: async () => { handle.server = await startRedisServer({ dir, args, port: server.port }) } }
  defer(() => rmSync(dir, { recursive: true, force: true }))
  defer(() => handle.server.stop('SIGKILL'))
  defer(() => { handle.admin.disconnect() })
  return handle
}

async function stackOn (defer: Cleanup, opts: StackOptions): Promise<Stack> {
  const stack = await startStack(opts)
  defer(() => stack.close())
  return stack
}

async function post (stack: Stack, url: string, payload: unknown, key?: string): Promise<Answer> {
  const headers = { ...stack.auth(), ...(key === undefined ? {} : { 'idempotency-key': key }) }
  const res = await stack.api.inject({ method: 'POST', url, headers, payload: payload as Record<string, unknown> })
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

/** POST /v3/:domain/messages with a multipart form (Node's own FormData encoding). */
async function dropIn (stack: Stack, form: FormData): Promise<{ status: number, body: { id?: string, message: string } }> {
  const encoded = new Response(form)
  const res = await stack.api.inject({
    method: 'POST', url: `/v3/${US}/messages`, headers: { ...stack.auth(), 'content-type': encoded.headers.get('content-type') as string },
    payload: Buffer.from(await encoded.arrayBuffer())
  })
  return { status: res.statusCode, body: res.json() }
}

const single = (stack: Stack, body: unknown, key?: string): Promise<Answer> => post(stack, '/v1/messages', body, key)
const batch = (stack: Stack, messages: unknown[], key?: string): Promise<Answer> => post(stack, '/v1/messages/batch', { messages }, key)

/** A 503 that says the message is not stored and when to come back. */
function assertNotStored (a: Answer, code = 'MQ_ERR_UNAVAILABLE'): void {
  assert.equal(a.status, 503, JSON.stringify(a.body))
  assert.equal(a.body.code, code)
  assert.ok(Number(a.headers['retry-after']) > 0, 'Retry-After')
}

/** How many messages ingest has stored in a region: its created index, over every partition. */
async function storedCount (stack: Stack, region: Region): Promise<number> {
  const link = stack.links.get(region)
  const counts = await Promise.all(link.partitions().map((p) => link.storeRedis.zcard(p.keys.created)))
  return counts.reduce((a, b) => a + b, 0)
}

/** Resolves once the simulator has each Message-Id exactly once (and no other message than these). */
async function deliveredOnce (stack: Stack, region: Region, messageIds: readonly string[]): Promise<void> {
  const sim = stack.sims[region]
  await eventually(() => sim.received().length >= messageIds.length || undefined, `${messageIds.length} deliveries in ${region}`, 20_000)
  const seen = sim.received().map((m) => m.messageId).sort()
  assert.deepEqual(seen, [...messageIds].sort(), 'each accepted message arrived exactly once, and nothing else')
}

type Item = { index: number, id?: string, error?: string, code?: string }
const itemsOf = (a: Answer): Item[] => a.body.results as Item[]
const messageIdOf = (id: string, domain: string): string => `<${id.slice(3)}@${domain}>`

/** The Message-Ids of a batch answer's stored items; `domains[i]` is item i's domain. */
function storedOf (a: Answer, domains: readonly string[]): string[] {
  return itemsOf(a).flatMap((r) => r.id ? [messageIdOf(r.id, domains[r.index] as string)] : [])
}

describe('Idempotency-Key, whatever the regions', () => {
  test('one key, an EU message then a US one: 422, and only the EU message is queued', async (t) => {
    const stack = await stackOn(cleanups(t), { domains: BOTH, worker: false })
    const first = await single(stack, message(EU), 'key-1')
    assert.equal(first.status, 202)
    const second = await single(stack, message(US), 'key-1')
    assert.equal(second.status, 422)
    assert.equal(second.body.code, 'MQ_ERR_IDEMPOTENCY_MISMATCH')
    assert.equal(await storedCount(stack, 'eu'), 1)
    assert.equal(await storedCount(stack, 'us'), 0)

    const changed = await single(stack, message(EU, { subject: 'another' }), 'key-1')
    assert.equal(changed.status, 422, 'the same key with another body in the same region')
    const asBatch = await batch(stack, [message(EU)], 'key-1')
    assert.equal(asBatch.status, 422, 'the same key on another route')

    const replay = await single(stack, message(EU), 'key-1')
    assert.equal(replay.status, 202)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.deepEqual(replay.body, first.body)
    assert.equal(await storedCount(stack, 'eu'), 1)
  })

  test('each region on its own Redis: claims still live in one place', async (t) => {
    const defer = cleanups(t)
    const eu = await privateRedis(defer)
    const stack = await stackOn(defer, { domains: BOTH, worker: false, env: { REDIS_URL_EU: eu.server.url } })
    assert.equal((await single(stack, message(US), 'key-2')).status, 202)
    const other = await single(stack, message(EU), 'key-2')
    assert.equal(other.status, 422)
    assert.equal(await storedCount(stack, 'eu'), 0)
  })

  test('concurrent first uses of one key make exactly one message; every answer names it', async (t) => {
    const stack = await stackOn(cleanups(t), { worker: false })
    const answers = await Promise.all(Array.from({ length: 10 }, () => single(stack, message(US), 'key-3')))
    assert.deepEqual(answers.map((a) => a.status), Array(10).fill(202))
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 1)
    assert.equal(answers.filter((a) => a.headers['idempotent-replayed'] === undefined).length, 1, 'one first answer, the rest replays')
    assert.equal(await storedCount(stack, 'us'), 1)
  })

  test('a replay of a stored message costs no client rate; a first use does', async (t) => {
    const stack = await stackOn(cleanups(t), { worker: false, clientRates: { main: 1 } })
    assert.equal((await single(stack, message(US), 'key-5')).status, 202)
    const replay = await single(stack, message(US), 'key-5')
    assert.equal(replay.status, 202, 'the bucket is empty, but a replay stores nothing')
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.equal((await single(stack, message(US), 'key-6')).status, 429)
  })

  test('batches take the key: a replay answers the same ids and queues nothing more', async (t) => {
    const stack = await stackOn(cleanups(t), { domains: BOTH, worker: false })
    const items = [message(US), message(EU), { domain: US }]
    const first = await batch(stack, items, 'key-4')
    assert.equal(first.status, 207)
    const replay = await batch(stack, items, 'key-4')
    assert.equal(replay.status, 207)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.deepEqual(replay.body, first.body)
    assert.equal(await storedCount(stack, 'us') + await storedCount(stack, 'eu'), 2)
    assert.equal((await batch(stack, items.slice(0, 2), 'key-4')).status, 422)
  })
})

describe('Redis paused during ingest (CLIENT PAUSE)', () => {
  test('a 503 during a 3 s pause is not stored; a 202 during a short one is sent once', async (t) => {
    const defer = cleanups(t)
    const redis = await privateRedis(defer)
    const stack = await stackOn(defer, { env: { REDIS_URL: redis.server.url } })
    const warmUp = await single(stack, message(US, { subject: 'warm-up' }))
    assert.equal(warmUp.status, 202)

    await redis.admin.client('PAUSE', 3000, 'ALL')
    const started = Date.now()
    const during = await Promise.all(Array.from({ length: 5 }, (_, i) => single(stack, message(US, { subject: `paused ${i}` }))))
    for (const a of during) assertNotStored(a)
    assert.ok(Date.now() - started < 3000, 'the 503s came while Redis was still paused')
    // Once this is stored, Redis has run every add sent before it on the same connection.
    const after = await eventually(async () => { const a = await single(stack, message(US, { subject: 'after' })); return a.status === 202 ? a : undefined }, 'ingest after the pause')
    assert.equal(await storedCount(stack, 'us'), 2, 'only the warm-up and the message after the pause are stored')

    await redis.admin.client('PAUSE', 300, 'ALL')
    const short = await Promise.all(Array.from({ length: 5 }, (_, i) => single(stack, message(US, { subject: `short ${i}` }))))
    assert.deepEqual(short.map((a) => a.status), Array(5).fill(202), 'a pause shorter than the deadline only delays the answer')
    await deliveredOnce(stack, 'us', [warmUp, after, ...short].map((a) => a.body.messageId as string))
  })

  test('with an Idempotency-Key: the 503, then the retry with the same key makes exactly one message', async (t) => {
    const defer = cleanups(t)
    const redis = await privateRedis(defer)
    const stack = await stackOn(defer, { env: { REDIS_URL: redis.server.url } })
    const items = [message(US, { subject: 'b0' }), message(US, { subject: 'b1' })]
    await redis.admin.client('PAUSE', 3000, 'ALL')
    const [paused, pausedBatch] = await Promise.all([single(stack, message(US), 'order-1'), batch(stack, items, 'batch-1')])
    assertNotStored(paused)
    assertNotStored(pausedBatch)

    const retry = await eventually(async () => { const a = await single(stack, message(US), 'order-1'); return a.status === 202 ? a : undefined }, 'the retry to be stored')
    const id = retry.body.id as string
    const record = await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth() })
    assert.equal(record.statusCode, 200, 'the id of the answer names a message')
    const again = await single(stack, message(US), 'order-1')
    assert.deepEqual(again.body, retry.body)
    const batchRetry = await batch(stack, items, 'batch-1')
    assert.equal(batchRetry.status, 202)
    assert.equal(batchRetry.headers['idempotent-replayed'], 'true')

    await deliveredOnce(stack, 'us', [retry.body.messageId as string, ...storedOf(batchRetry, [US, US])])
    assert.equal(await storedCount(stack, 'us'), 3)
  })
})

describe('the connection to Redis breaks during an add', () => {
  test('Redis killed with the add on the wire: 503 "outcome unknown", and the retry with the key makes one message', async (t) => {
    const defer = cleanups(t)
    const eu = await privateRedis(defer)
    // The key's claim lives in the US Redis (the home store); the EU message's add hangs, then breaks.
    const stack = await stackOn(defer, { domains: BOTH, env: { REDIS_URL_EU: eu.server.url } })
    assert.equal((await single(stack, message(EU, { subject: 'before' }))).status, 202)
    await eventually(() => stack.sims.eu.received().length === 1 || undefined, 'the first EU message sent')

    eu.server.process.kill('SIGSTOP')
    const answer = single(stack, message(EU), 'order-2')
    await new Promise((resolve) => setTimeout(resolve, 300)) // the add is on the wire to a frozen Redis
    await eu.server.stop('SIGKILL')
    const unknown = await answer
    assertNotStored(unknown, 'MQ_ERR_OUTCOME_UNKNOWN')
    assert.match(unknown.body.message as string, /Idempotency-Key/)

    await eu.restart()
    const retry = await eventually(async () => { const a = await single(stack, message(EU), 'order-2'); return a.status === 202 ? a : undefined }, 'the retry once Redis is back', 20_000)
    assert.equal(retry.headers['idempotent-replayed'], 'true')
    await eventually(() => stack.sims.eu.received().length >= 2 || undefined, 'the retried message sent', 20_000)
    assert.deepEqual(stack.sims.eu.received().slice(1).map((m) => m.messageId), [retry.body.messageId])
  })
})

describe('Redis full (maxmemory, noeviction)', () => {
  test('503 + Retry-After, never 500; after maxmemory 0 every accepted message is sent once and readable', async (t) => {
    const defer = cleanups(t)
    const redis = await privateRedis(defer)
    const stack = await stackOn(defer, { domains: BOTH, worker: false, env: { REDIS_URL: redis.server.url } })
    const used = Number(/used_memory:(\d+)/.exec(await redis.admin.info('memory'))?.[1])
    await redis.admin.config('SET', 'maxmemory', String(used + 2_000_000))

    const text = 'x'.repeat(20_000)
    const domains = [US, EU, US]
    const accepted: Array<{ id: string, messageId: string }> = []
    const statuses = new Set<number>()
    let full = false
    for (let i = 0; i < 400 && !full; i++) {
      const mixed = await batch(stack, domains.map((d) => message(d, { text })))
      const one = await single(stack, message(i % 2 ? US : EU, { text }))
      for (const a of [mixed, one]) {
        statuses.add(a.status)
        if (a.status === 503) { assertNotStored(a); full = true }
      }
      // The US and the EU items go in a call each: either may be refused, never half of one.
      if (mixed.status === 207) for (const r of itemsOf(mixed)) if (!r.id) assert.equal(r.code, 'MQ_ERR_UNAVAILABLE')
      if (mixed.status !== 503) {
        for (const r of itemsOf(mixed)) if (r.id) accepted.push({ id: r.id, messageId: messageIdOf(r.id, domains[r.index] as string) })
      }
      if (one.status === 202) accepted.push({ id: one.body.id as string, messageId: one.body.messageId as string })
    }
    assert.ok(full, 'Redis filled up')
    assert.deepEqual([...statuses].filter((s) => s !== 202 && s !== 207 && s !== 503), [], 'only 202, 207 and 503')
    assert.equal(await storedCount(stack, 'us') + await storedCount(stack, 'eu'), accepted.length, 'stored exactly what was accepted')

    await redis.admin.config('SET', 'maxmemory', '0')
    await stack.startWorker()
    await deliveredOnce(stack, 'us', accepted.filter((a) => a.id.startsWith('us-')).map((a) => a.messageId))
    await deliveredOnce(stack, 'eu', accepted.filter((a) => a.id.startsWith('eu-')).map((a) => a.messageId))
    for (const { id } of accepted) {
      const record = await eventually(async () => {
        const res = await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth() })
        return res.statusCode === 200 && res.json().status === 'sent' ? res : undefined
      }, `record of ${id}`)
      assert.equal(record.json().id, id)
    }
  })

  test('a mixed-region batch with only the EU Redis full: 207, each item says whether it is stored', async (t) => {
    const defer = cleanups(t)
    const eu = await privateRedis(defer)
    const stack = await stackOn(defer, { domains: BOTH, worker: false, env: { REDIS_URL_EU: eu.server.url } })
    assert.equal((await single(stack, message(EU))).status, 202) // the EU layout is registered
    await eu.admin.config('SET', 'maxmemory', '1')
    const mixed = await batch(stack, [message(US), message(EU), message(US), { domain: US }])
    assert.equal(mixed.status, 207)
    const results = itemsOf(mixed)
    assert.ok(results[0]?.id?.startsWith('us-') && results[2]?.id?.startsWith('us-'))
    assert.equal(results[1]?.code, 'MQ_ERR_UNAVAILABLE')
    assert.match(results[1]?.error ?? '', /unavailable/)
    assert.equal(results[3]?.code, 'MQ_ERR_VALIDATION')
    assert.equal(await storedCount(stack, 'us'), 2)
    assert.equal(await storedCount(stack, 'eu'), 1, 'nothing of the batch in the EU')

    const onlyEu = await batch(stack, [message(EU), message(EU)])
    assertNotStored(onlyEu)
  })
})

describe('large messages', () => {
  test('20 MB attachments on /v1 and /v3: stored in one call, sent intact, bytes out of the job, freed once sent', async (t) => {
    const defer = cleanups(t)
    const stack = await stackOn(defer, { worker: false })
    const bytes = randomBytes(20_000_000)
    const sha256 = createHash('sha256').update(bytes).digest('hex')

    const native = await single(stack, message(US, { attachments: [{ filename: 'a.bin', content: bytes.toString('base64') }] }))
    assert.equal(native.status, 202, JSON.stringify(native.body))
    const form = new FormData()
    form.append('from', `shop@${US}`)
    form.append('to', 'user@example.com')
    form.append('text', 'see attached')
    form.append('attachment', new Blob([bytes]), 'b.bin')
    const viaV3 = await dropIn(stack, form)
    assert.equal(viaV3.status, 200, viaV3.body.message)

    const ids = [native.body.id as string, `us-${(viaV3.body.id as string).slice(1).split('@')[0]}`]
    for (const id of ids) {
      const p = partitionOf(stack, id)
      const data = await stack.links.get('us').queueRedis.hget(p.queue.toKey(id), 'data')
      assert.ok(data && data.length < 2000, 'the job holds the file\'s name, not its bytes')
      assert.equal(await stack.links.get('us').storeRedis.exists(p.keys.files(id)), 1)
    }
    await stack.startWorker()
    await eventually(() => stack.sims.us.received().length === 2 || undefined, 'both sent', 30_000)
    for (const m of stack.sims.us.received()) assert.deepEqual(m.files.map((f) => [f.size, f.sha256]), [[bytes.length, sha256]])
    for (const id of ids) {
      await eventually(async () => await stack.links.get('us').storeRedis.exists(partitionOf(stack, id).keys.files(id)) === 0 || undefined, 'files freed after the send')
    }
  })
})

describe('file contents read whole or as they stream', () => {
  test('small and large bodies decode alike and refuse alike', async (t) => {
    const stack = await stackOn(cleanups(t), { worker: false })
    const pad = 'A'.repeat(400_000) // past the size from which bodies are read as they stream
    for (const text of ['small', pad]) {
      const bad = await single(stack, message(US, { text, attachments: [{ filename: 'a', content: 'QUJD*' }] }))
      assert.equal(bad.status, 400)
      assert.deepEqual(bad.body, { message: 'attachments[0].content must match pattern "^[A-Za-z0-9+/=\\t\\n\\r ]*$"', code: 'MQ_ERR_VALIDATION' })
      const good = await single(stack, message(US, { text, attachments: [{ filename: 'a', content: 'QUJD\nRA==ignored' }] }))
      assert.equal(good.status, 202)
      const id = good.body.id as string
      const stored = await stack.links.get('us').storeRedis.hgetallBuffer(partitionOf(stack, id).keys.files(id))
      const chunks = Object.entries(stored).sort(([a], [b]) => Number(a.split('.')[1]) - Number(b.split('.')[1])).map(([, bytes]) => bytes)
      assert.equal(Buffer.concat(chunks).toString(), 'ABCD', `a ${text.length}-character text`)
    }
  })
})

describe('jobs stored before files left the job', () => {
  test('a job with its file base64 in its data is still sent intact', async (t) => {
    const stack = await stackOn(cleanups(t), {})
    const id = `us-${randomUUID()}`
    const bytes = randomBytes(5000)
    // The shape such jobs have: no chunk count, the bytes in `content`.
    const old = {
      domain: US,
      messageId: messageIdOf(id, US),
      fields: [['from', `shop@${US}`], ['to', 'user@example.com'], ['text', 'old']],
      files: [{ field: 'attachment', filename: 'old.bin', contentType: 'application/octet-stream', content: bytes.toString('base64') }]
    }
    await partitionOf(stack, id).queue.add('send', old as unknown as StoredJob, { jobId: id })
    await eventually(() => stack.sims.us.received().length === 1 || undefined, 'sent')
    assert.deepEqual(stack.sims.us.received()[0]?.files.map((f) => [f.filename, f.sha256]), [['old.bin', createHash('sha256').update(bytes).digest('hex')]])
  })
})

describe('on a Redis Cluster', { skip: clusterSkip() }, () => {
  test('a message with a file and a caller\'s Message-Id: job, file, indexes in one slot; sent intact', async (t) => {
    const stack = await stackOn(cleanups(t), { cluster: true, partitions: 3 })
    const form = new FormData()
    form.append('from', `shop@${US}`)
    form.append('to', 'user@example.com')
    form.append('text', 'see attached')
    form.append('h:Message-Id', '<order-77@shop.example>')
    form.append('attachment', new Blob([Buffer.from('file body')]), 'a.txt')
    const res = await dropIn(stack, form)
    assert.equal(res.status, 200, res.body.message)
    await eventually(() => stack.sims.us.received().length === 1 || undefined, 'sent')
    const [sent] = stack.sims.us.received()
    assert.equal(sent?.messageId, '<order-77@shop.example>')
    assert.equal(sent?.files[0]?.sha256, createHash('sha256').update('file body').digest('hex'))
    const link = stack.links.get('us')
    const hash = createHash('sha256').update('order-77@shop.example').digest('hex')
    const owners = await Promise.all(link.current.map(async (p) => ({ p, id: await link.storeRedis.get(p.keys.messageId(hash)) })))
    const owner = owners.find((o) => o.id !== null)
    assert.ok(owner, 'the caller\'s Message-Id names its message')
    assert.notEqual(await link.storeRedis.zscore(owner.p.keys.created, owner.id as string), null)
  })
})
