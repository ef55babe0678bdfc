import { test } from 'node:test'
import assert from 'node:assert/strict'
import { presentedKey } from '../../services/api/plugins/auth.js'

const basic = (userAndKey: string) => 'Basic ' + Buffer.from(userAndKey).toString('base64')

test('Basic auth counts only with the user "api", as Mailgun takes it; Bearer carries the key alone', () => {
  assert.equal(presentedKey(basic('api:key-123')), 'key-123')
  assert.equal(presentedKey(basic('api:with:colons')), 'with:colons')
  assert.equal(presentedKey('basic ' + Buffer.from('api:k').toString('base64')), 'k')
  assert.equal(presentedKey('Bearer key-123'), 'key-123')
  for (const refused of [basic('admin:key-123'), basic('API:key-123'), basic(':key-123'), basic('key-123'), basic('api:'), 'Bearer ', 'Digest x', '', undefined]) {
    assert.equal(presentedKey(refused), null, String(refused))
  }
})
