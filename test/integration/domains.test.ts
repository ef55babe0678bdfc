import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { HoldStore } from '../../shared/holds.js'
import { eventually, startStack, type Stack } from '../helpers/stack.js'

describe('domains: list with hold state, resume', () => {
  let stack: Stack
  let holdsUs: HoldStore
  let holdsEu: HoldStore
  before(async () => {
    stack = await startStack({
      domains: [{ name: 'mg.example.com', region: 'us', ratePerSecond: 100 }, { name: 'mg.example.eu', region: 'eu' }],
      clients: { shop: ['mg.example.com'] },
      worker: false
    })
    // The API's connections refuse commands until connected (no offline queue); without a worker
    // nothing else has waited for them yet.
    await eventually(() => [...stack.links.links.values()].every((l) => l.storeRedis.status === 'ready') || undefined, 'redis connections ready')
    holdsUs = new HoldStore(stack.links.get('us'))
    holdsEu = new HoldStore(stack.links.get('eu'))
  })
  after(async () => { await stack.close() })

  const list = async (client = 'main') => {
    const res = await stack.api.inject({ url: '/v1/domains', headers: stack.auth(client) })
    assert.equal(res.statusCode, 200, res.body)
    return res.json().domains as Array<Record<string, unknown>>
  }
  const resume = (name: string, client = 'main') =>
    stack.api.inject({ method: 'POST', url: `/v1/domains/${name}/resume`, headers: stack.auth(client) })

  test('each configured domain with its region, rate and state, and no key', async () => {
    const res = await stack.api.inject({ url: '/v1/domains', headers: stack.auth() })
    assert.deepEqual(res.json(), {
      domains: [
        { name: 'mg.example.com', region: 'us', ratePerSecond: 100, state: 'active' },
        { name: 'mg.example.eu', region: 'eu', ratePerSecond: null, state: 'active' }
      ]
    })
    for (const key of Object.values(stack.sendingKeys)) assert.ok(!res.body.includes(key), 'a sending key leaked')
    assert.equal((await stack.api.inject({ url: '/v1/domains' })).statusCode, 401)
  })

  test('a held domain shows its reason until resumed', async () => {
    const since = Date.now()
    await holdsUs.hold('domain', 'mg.example.com', 'sending key rejected', since)
    const held = (await list()).find((d) => d.name === 'mg.example.com')
    assert.deepEqual(held, {
      name: 'mg.example.com', region: 'us', ratePerSecond: 100, state: 'held',
      hold: { reason: 'sending key rejected', since: new Date(since).toISOString() }
    })
    assert.equal((await list()).find((d) => d.name === 'mg.example.eu')?.state, 'active', 'other domains stay active')

    const res = await resume('mg.example.com')
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { name: 'mg.example.com', state: 'active' })
    assert.equal((await list()).find((d) => d.name === 'mg.example.com')?.state, 'active')
    assert.equal((await holdsUs.all()).size, 0)
    assert.equal((await resume('mg.example.com')).statusCode, 200, 'resuming an active domain is harmless')
  })

  test('a held region holds its domains with the region\'s reason; resuming a domain releases it', async () => {
    await holdsEu.hold('region', 'eu', 'region keeps failing', Date.now())
    const eu = (await list()).find((d) => d.name === 'mg.example.eu')
    assert.equal(eu?.state, 'held')
    assert.deepEqual((eu?.hold as { reason: string }).reason, 'region keeps failing')
    assert.equal((await list()).find((d) => d.name === 'mg.example.com')?.state, 'active', 'holds are per region')
    assert.equal((await resume('MG.example.eu')).statusCode, 200)
    assert.equal((await list()).find((d) => d.name === 'mg.example.eu')?.state, 'active')
    assert.equal((await holdsEu.all()).size, 0)
  })

  test('a restricted client sees and resumes only its domains; unknown is 404', async () => {
    assert.deepEqual((await list('shop')).map((d) => d.name), ['mg.example.com'])
    await holdsEu.hold('domain', 'mg.example.eu', 'sending key rejected', Date.now())
    const forbidden = await resume('mg.example.eu', 'shop')
    assert.equal(forbidden.statusCode, 403)
    assert.equal((await list()).find((d) => d.name === 'mg.example.eu')?.state, 'held', 'a refused resume changes nothing')
    assert.equal((await resume('mg.unknown.com')).statusCode, 404)
    assert.equal((await resume('mg.example.eu')).statusCode, 200)
  })
})
