import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { moveToFinished } from 'bullmq/dist/esm/scripts/moveToFinished-14.js'
import { edited } from '../../shared/bullmq-scripts.js'
import { clusterSkip, eventually, message, partitionOf, startStack, type Stack, type StackOptions } from '../helpers/stack.js'

describe('BullMQ events of a send, single Redis', () => { eventTests({}) })
describe('BullMQ events of a send, Redis Cluster with 3 partitions', { skip: clusterSkip() }, () => {
  eventTests({ cluster: true, partitions: 3 })
})

function eventTests (target: Pick<StackOptions, 'cluster' | 'partitions'>): void {
  let stack: Stack
  before(async () => { stack = await startStack(target) })
  after(async () => { await stack.close() })

  /** The events BullMQ wrote to the message's queue stream for its job, in order. */
  async function jobEvents (id: string): Promise<string[]> {
    const partition = partitionOf(stack, id)
    const entries = await stack.links.get('us').storeRedis.xrange(partition.queue.toKey('events'), '-', '+')
    return entries.flatMap(([, fields]) => {
      const f = new Map<string, string>()
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string)
      return f.get('jobId') === id ? [f.get('event') as string] : []
    })
  }

  async function send (payload: Record<string, unknown>, status: 'sent' | 'failed'): Promise<string> {
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload })
    assert.equal(res.statusCode, 202, res.body)
    const id = res.json<{ id: string }>().id
    await eventually(async () => {
      const r = await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth() })
      return r.json<{ status: string }>().status === status || undefined
    }, `record ${status}`)
    return id
  }

  test('a sent message leaves no active or completed event; its queue events stay', async () => {
    const id = await send(message('mg.example.com'), 'sent')
    assert.deepEqual(await jobEvents(id), ['added', 'waiting'])
  })

  test('a failed message still gets its failed event', async () => {
    stack.sims.us.addFault({ status: 400, count: 1, domain: 'mg.example.com' })
    const id = await send(message('mg.example.com'), 'failed')
    const events = await eventually(async () => {
      const e = await jobEvents(id)
      return e.includes('failed') ? e : undefined
    }, 'failed event')
    assert.deepEqual(events.filter((e) => e !== 'retries-exhausted'), ['added', 'waiting', 'failed'])
  })
}

test('an edit of a BullMQ script that does not match exactly once stops start-up, naming the script', () => {
  assert.throws(() => edited(moveToFinished, [{ find: 'no such Lua line', replace: '' }]), /bullmq .* moveToFinished: expected exactly one "no such Lua line"/)
  assert.throws(() => edited(moveToFinished, [{ find: 'rcall', replace: '' }]), /moveToFinished: expected exactly one "rcall"/)
})
