import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { DomainConfig } from '../../shared/config.js'
import { Secret } from '../../shared/secret.js'
import { eventDomain, ourIdOf } from '../../services/api/webhook-events.js'

const domain = (name: string, region: 'us' | 'eu', key: string | null): DomainConfig =>
  ({ name, region, sendingKey: new Secret('s'), webhookSigningKey: key ? new Secret(key) : null, ratePerSecond: null, primaryKey: null })
const domains = new Map([['a.example.com', domain('a.example.com', 'us', 'ka')], ['b.example.eu', domain('b.example.eu', 'eu', null)]])
const UUID = '579b80da-62f7-4c0f-b219-edbcca499321'
const withId = (messageId: string, named?: string) => ({ message: { headers: { 'message-id': messageId } }, ...(named ? { domain: { name: named } } : {}) })

test('the domain of an event: its Message-Id\'s when configured, else the one event-data.domain.name names', () => {
  assert.equal(eventDomain(withId(`${UUID}@a.example.com`), domains)?.name, 'a.example.com')
  assert.equal(eventDomain(withId(`<${UUID}@B.Example.EU>`), domains)?.name, 'b.example.eu')
  // The Message-Id's domain wins over what event-data names: a signer of a.example.com cannot
  // claim an event about a message of b.example.eu by naming its own domain.
  assert.equal(eventDomain(withId(`${UUID}@b.example.eu`, 'a.example.com'), domains)?.name, 'b.example.eu')
  // A caller-chosen Message-Id of another domain: the sending domain Mailgun names.
  assert.equal(eventDomain(withId('order-42@shop.example.org', 'a.example.com'), domains)?.name, 'a.example.com')
  assert.equal(eventDomain(withId('order-42@shop.example.org'), domains), null)
  assert.equal(eventDomain({ domain: { name: 'unknown.example' } }, domains), null)
  assert.equal(eventDomain({}, domains), null)
})

test('the id a Message-Id of our form names, in its domain\'s region', () => {
  assert.equal(ourIdOf(`${UUID}@a.example.com`, domains), `us-${UUID}`)
  assert.equal(ourIdOf(`<${UUID.toUpperCase()}@A.example.com>`, domains), `us-${UUID}`)
  assert.equal(ourIdOf(`<3.8.${UUID}@a.example.com>`, domains), `us-3.8.${UUID}`) // partitioned ids
  assert.equal(ourIdOf(`<${UUID}@b.example.eu>`, domains), `eu-${UUID}`)
  assert.equal(ourIdOf(`<${UUID}@unknown.example>`, domains), null, 'not a domain of ours')
  assert.equal(ourIdOf('<order-42@a.example.com>', domains), null, 'a caller-chosen form: found through its index key')
  assert.equal(ourIdOf('', domains), null)
})
