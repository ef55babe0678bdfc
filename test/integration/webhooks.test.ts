import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { eventually, message, startStack, type Stack } from '../helpers/stack.js'

let stack: Stack
before(async () => { stack = await startStack({ domains: [{ name: 'mg.example.com', region: 'us' }, { name: 'other.example.net', region: 'eu' }] }) })
after(async () => { await stack.close() })

function signed (key: string, event: Record<string, unknown>, at = Math.floor(Date.now() / 1000)) {
  const token = randomBytes(25).toString('hex')
  const timestamp = String(at)
  const signature = createHmac('sha256', key).update(timestamp + token).digest('hex')
  return { signature: { timestamp, token, signature }, 'event-data': event }
}

test('a signed delivered event lands in its message record; forged, stale and replayed ones are refused', async () => {
  const accepted = (await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com') })).json()
  await eventually(async () => (await stack.api.inject({ url: `/v1/messages/${accepted.id}`, headers: stack.auth() })).json().status === 'sent' || undefined, 'sent')
  const key = stack.webhookKeys['mg.example.com'] as string
  const event = { event: 'delivered', timestamp: 1529006854.329574, recipient: 'user@example.com', message: { headers: { 'message-id': accepted.messageId.slice(1, -1) } } }

  const body = signed(key, event)
  const ok = await stack.api.inject({ method: 'POST', url: '/v1/webhooks/mailgun', payload: body })
  assert.equal(ok.statusCode, 200, ok.body)
  const replay = await stack.api.inject({ method: 'POST', url: '/v1/webhooks/mailgun', payload: body })
  assert.equal(replay.statusCode, 409)
  const forged = await stack.api.inject({ method: 'POST', url: '/v1/webhooks/mailgun', payload: signed('not-the-key', event) })
  assert.equal(forged.statusCode, 401)
  const stale = await stack.api.inject({ method: 'POST', url: '/v1/webhooks/mailgun', payload: signed(key, event, Math.floor(Date.now() / 1000) - 3600) })
  assert.equal(stale.statusCode, 400)

  const record = (await stack.api.inject({ url: `/v1/messages/${accepted.id}`, headers: stack.auth() })).json()
  assert.deepEqual(record.events, [{ event: 'delivered', at: '2018-06-14T20:07:34.330Z', recipient: 'user@example.com' }])
})

test('only the key of the event\'s own domain verifies it: one tenant cannot vouch for another\'s messages', async () => {
  const accepted = (await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com') })).json()
  const own = stack.webhookKeys['mg.example.com'] as string
  const other = stack.webhookKeys['other.example.net'] as string
  const event = (extra: Record<string, unknown> = {}) => ({ event: 'opened', timestamp: Date.now() / 1000, message: { headers: { 'message-id': accepted.messageId.slice(1, -1) } }, ...extra })
  const post = (body: unknown) => stack.api.inject({ method: 'POST', url: '/v1/webhooks/mailgun', payload: body as object })

  const forged = await post(signed(other, event()))
  assert.equal(forged.statusCode, 401)
  assert.equal(forged.json().message, 'webhook signature not verified')
  // Naming its own domain does not help the other tenant: the Message-Id's domain decides.
  assert.equal((await post(signed(other, event({ domain: { name: 'other.example.net' } })))).statusCode, 401)
  assert.equal((await post(signed(own, event()))).statusCode, 200)

  // A caller-chosen Message-Id: the sending domain Mailgun names in event-data decides.
  const foreignId = { event: 'delivered', timestamp: Date.now() / 1000, message: { headers: { 'message-id': 'order-42@shop.example.org' } } }
  assert.equal((await post(signed(other, { ...foreignId, domain: { name: 'other.example.net' } }))).json().status, 'ignored')
  assert.equal((await post(signed(own, { ...foreignId, domain: { name: 'other.example.net' } }))).statusCode, 401)
  assert.equal((await post(signed(own, foreignId))).statusCode, 401) // no domain of ours at all

  const record = (await stack.api.inject({ url: `/v1/messages/${accepted.id}`, headers: stack.auth() })).json()
  assert.deepEqual(record.events.map((e: { event: string }) => e.event), ['opened'])
})
