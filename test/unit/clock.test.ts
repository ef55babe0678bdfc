import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { fixedClock } from '../../shared/clock.js'
import { Secret } from '../../shared/secret.js'

test('fixed clock advances only when told', () => {
  const c = fixedClock(1000)
  c.advance(500)
  assert.equal(c.now(), 1500)
})

test('a Secret never prints its value', () => {
  const s = new Secret('key-123')
  const shown = [String(s), JSON.stringify({ s }), inspect({ s }), `${s}`].join(' ')
  assert.ok(!shown.includes('key-123'))
  assert.equal(s.reveal(), 'key-123')
})
