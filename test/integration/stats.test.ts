/**
 * GET /v1/stats, the dashboard's numbers: messages by state per region from the queues and the
 * indexes, sent / failed per minute from the per-minute counters, only what the client may see.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Partition } from '../../shared/region-link.js'
import { operatorStack } from '../helpers/operator-stack.js'
import { clusterSkip, eventually, message, partitionOf, type Stack, type StackOptions } from '../helpers/stack.js'

describe('stats, single Redis', () => { statsTests({}) })
describe('stats, Redis Cluster with 3 partitions per region', { skip: clusterSkip() }, () => {
  statsTests({ cluster: true, partitions: 3 })
})

interface States { queued: number, scheduled: number, sending: number, retrying: number, held: number, failed: number }
interface RegionStats { region: string, states: States | null, perMinute: Array<{ minute: string, sent: number, failed: number }> }

function statsTests (target: Pick<StackOptions, 'cluster' | 'partitions'>): void {
  let stack: Stack
  before(async () => { stack = await operatorStack(target) })
  after(async () => { await stack.close() })

  const send = async (domain: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message(domain, extra) })
    assert.equal(res.statusCode, 202, res.body)
    return res.json().id
  }
  const status = async (id: string): Promise<string> => (await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth() })).json().status
  const reaches = (id: string, wanted: string): Promise<true> => eventually(async () => await status(id) === wanted || undefined, `${id} ${wanted}`)
  const stats = async (client = 'main'): Promise<RegionStats[]> => {
    const res = await stack.api.inject({ url: '/v1/stats', headers: stack.auth(client) })
    assert.equal(res.statusCode, 200, res.body)
    return res.json().regions
  }
  const region = (all: RegionStats[], name: string): RegionStats => {
    const found = all.find((r) => r.region === name)
    assert.ok(found, `region ${name}`)
    return found
  }

  test('messages by state, per region, summed over partitions; region-wide counts only for a client that sees every domain', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString()
    stack.sims.us.addFault({ status: 400, domain: 'mg.other.com', count: 1 })
    const failed = await send('mg.other.com')
    stack.sims.us.addFault({ status: 429, retryAfter: '3600', domain: 'mg.other.com', count: 1 })
    const retrying = await send('mg.other.com')
    const held = await send('mg.held.com')
    const scheduled = [await send('mg.example.com', { sendAt: later }), await send('mg.other.com', { sendAt: later })]
    await Promise.all([reaches(failed, 'failed'), reaches(retrying, 'retrying'), reaches(held, 'held')])
    // The scheduled and held indexes as ingest and the worker keep them (the same ZADD again once they do).
    for (const id of scheduled) await stack.links.get('us').storeRedis.zadd(partitionOf(stack, id).keys.scheduled, Date.parse(later), id)
    await stack.links.get('us').storeRedis.zadd(partitionOf(stack, held).keys.held, Date.now(), held)
    await send('mg.example.eu')
    await send('mg.example.eu', { lane: 'bulk' })
    const euScheduled = await send('mg.example.eu', { sendAt: later })
    await stack.links.get('eu').storeRedis.zadd(partitionOf(stack, euScheduled).keys.scheduled, Date.parse(later), euScheduled)

    // Two sends held up at Mailgun for a moment: being sent.
    stack.sims.us.setDelay(1500)
    const sending = [await send('mg.example.com'), await send('mg.example.com')]
    const during = await eventually(async () => {
      const all = await stats()
      return region(all, 'us').states?.sending === 2 ? all : undefined
    }, 'two messages sending')
    stack.sims.us.setDelay(0)
    assert.deepEqual(region(during, 'us').states, { queued: 0, scheduled: 2, sending: 2, retrying: 1, held: 1, failed: 1 })
    assert.deepEqual(region(during, 'eu').states, { queued: 2, scheduled: 1, sending: 0, retrying: 0, held: 0, failed: 0 })
    await Promise.all(sending.map((id) => reaches(id, 'sent')))

    const shop = await stats('shop')
    assert.deepEqual(shop.map((r) => r.region), ['us'], 'only the regions of the client\'s domains')
    assert.equal(region(shop, 'us').states, null)
  })

  test('sent and failed per minute over the last hour, oldest first, only the client\'s domains of the region', async () => {
    const past = Math.floor(Date.now() / 60_000) - 10
    const at = (series: RegionStats['perMinute']) => series.find((m) => m.minute === new Date(past * 60_000).toISOString())
    // Counters as the worker's outcomes increment them, in a minute no send of this test touches,
    // spread over two partitions where there are several.
    const us = stack.links.get('us').current
    const write = (p: number, field: string, n: number) => stack.links.get('us').storeRedis.hincrby((us[p % us.length] as Partition).keys.minute(past), field, n)
    await write(0, 'sent|mg.example.com', 5)
    await write(1, 'sent|mg.example.com', 2)
    await write(0, 'failed|mg.example.com', 2)
    await write(1, 'sent|mg.other.com', 3)
    await write(0, 'retrying|mg.other.com', 9)
    const eu = stack.links.get('eu').current[0] as Partition
    await stack.links.get('eu').storeRedis.hincrby(eu.keys.minute(past), 'sent|mg.example.eu', 4)

    const before = Math.floor(Date.now() / 60_000)
    const all = await stats()
    const after = Math.floor(Date.now() / 60_000)
    const series = region(all, 'us').perMinute
    assert.equal(series.length, 60)
    const minutes = series.map((m) => Date.parse(m.minute) / 60_000)
    assert.deepEqual(minutes, minutes.map((_, i) => (minutes[0] as number) + i), 'consecutive minutes, oldest first')
    assert.ok((minutes.at(-1) as number) >= before && (minutes.at(-1) as number) <= after, 'the current minute last')
    assert.deepEqual(at(series), { minute: new Date(past * 60_000).toISOString(), sent: 10, failed: 2 })
    assert.deepEqual(at(region(all, 'eu').perMinute), { minute: new Date(past * 60_000).toISOString(), sent: 4, failed: 0 }, 'each region counts its own domains')
    assert.deepEqual(at(region(await stats('shop'), 'us').perMinute), { minute: new Date(past * 60_000).toISOString(), sent: 7, failed: 2 })
  })
}
