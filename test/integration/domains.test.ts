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

describe('domains: pause by hand', () => {
  let stack: Stack
  let holdsUs: HoldStore
  before(async () => {
    stack = await startStack({
      domains: [{ name: 'mg.example.com', region: 'us' }, { name: 'mg.example.eu', region: 'eu' }],
      clients: { shop: ['mg.example.com'] },
      worker: false
    })
    await eventually(() => [...stack.links.links.values()].every((l) => l.storeRedis.status === 'ready') || undefined, 'redis connections ready')
    holdsUs = new HoldStore(stack.links.get('us'))
  })
  after(async () => { await stack.close() })

  const pause = (name: string, payload: unknown, client = 'main') =>
    stack.api.inject({ method: 'POST', url: `/v1/domains/${name}/pause`, headers: stack.auth(client), payload: payload as Record<string, unknown> })
  const stateOf = async (name: string): Promise<unknown> => {
    const res = await stack.api.inject({ url: '/v1/domains', headers: stack.auth() })
    return (res.json().domains as Array<{ name: string, state: string }>).find((d) => d.name === name)?.state
  }

  test('holds the domain with the reason given, with no fingerprint, until resumed', async () => {
    const before = Date.now()
    const res = await pause('MG.example.com', { reason: 'campaign paused by marketing' })
    assert.equal(res.statusCode, 200, res.body)
    const body = res.json()
    assert.deepEqual({ ...body, hold: { reason: body.hold.reason } }, { name: 'mg.example.com', state: 'held', hold: { reason: 'campaign paused by marketing' } })
    assert.ok(Date.parse(body.hold.since) >= before - 1000 && Date.parse(body.hold.since) <= Date.now())
    const stored = await holdsUs.get('domain', 'mg.example.com')
    assert.equal(stored?.reason, 'campaign paused by marketing')
    assert.equal(stored?.fingerprint, undefined, 'a manual hold must not be released by a worker restart')
    assert.equal(await stateOf('mg.example.com'), 'held')

    const again = await pause('mg.example.com', { reason: 'another reason' })
    assert.equal(again.statusCode, 200)
    assert.deepEqual(again.json(), body, 'a second pause keeps the first hold')

    const resumed = await stack.api.inject({ method: 'POST', url: '/v1/domains/mg.example.com/resume', headers: stack.auth() })
    assert.equal(resumed.statusCode, 200)
    assert.equal(await stateOf('mg.example.com'), 'active')
  })

  test('a bad reason is a 400 naming it, and changes nothing', async () => {
    for (const payload of [{}, { reason: '' }, { reason: '   ' }, { reason: 'x'.repeat(201) }, { reason: 'a\r\nb' }, { reason: 'a\u0000b' }, { reason: 7 }, { reason: 'ok', extra: 1 }]) {
      const res = await pause('mg.example.com', payload)
      assert.equal(res.statusCode, 400, JSON.stringify(payload))
      assert.equal(res.json().code, 'MQ_ERR_VALIDATION')
      assert.match(res.json().message, /reason|extra|additional/, JSON.stringify(payload))
    }
    assert.equal(await stateOf('mg.example.com'), 'active')
    assert.equal((await holdsUs.all()).size, 0)
  })

  test('a client pauses only its own domains; unknown is 404; no key is 401', async () => {
    const forbidden = await pause('mg.example.eu', { reason: 'not yours' }, 'shop')
    assert.equal(forbidden.statusCode, 403)
    assert.equal(await stateOf('mg.example.eu'), 'active', 'a refused pause changes nothing')
    assert.equal((await pause('mg.unknown.com', { reason: 'x' })).statusCode, 404)
    assert.equal((await stack.api.inject({ method: 'POST', url: '/v1/domains/mg.example.com/pause', payload: { reason: 'x' } })).statusCode, 401)
    const own = await pause('mg.example.com', { reason: 'shop pauses itself' }, 'shop')
    assert.equal(own.statusCode, 200)
    assert.equal((await stack.api.inject({ method: 'POST', url: '/v1/domains/mg.example.com/resume', headers: stack.auth('shop') })).statusCode, 200)
  })
})
