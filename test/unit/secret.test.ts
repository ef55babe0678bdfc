import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { Secret } from '../../shared/secret.js'

test('a Secret never prints its value', () => {
  const s = new Secret('key-123')
  const shown = [String(s), JSON.stringify({ s }), inspect({ s }), `${s}`].join(' ')
  assert.ok(!shown.includes('key-123'))
  assert.equal(s.reveal(), 'key-123')
})
