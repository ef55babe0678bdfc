import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { loadConfig } from '../../shared/config.js'
import { createLogger } from '../../shared/logger.js'

const good = {
  clients: [{ name: 'shop', key: 'env:SHOP_KEY', domains: ['mg.example.com'] }],
  domains: [
    { name: 'mg.example.com', region: 'us', sendingKey: 'env:MG_KEY', ratePerSecond: 100 },
    { name: 'mg.example.eu', region: 'eu', sendingKey: 'key-eu' }
  ]
}
const load = (file: unknown, env: Record<string, string> = {}) => loadConfig({
  env: { SHOP_KEY: 'client-secret', MG_KEY: 'sending-secret', ...env },
  readFile: (path) => (path === './mailqueue.json' && file !== null ? JSON.stringify(file) : null)
})
const fails = (file: unknown, env: Record<string, string>, expected: RegExp): void => {
  assert.throws(() => load(file, env), (err: Error) => {
    assert.equal(err.name, 'ConfigError')
    assert.ok(!err.message.includes('\n'), 'one line')
    assert.match(err.message, expected)
    return true
  })
}

test('defaults and env: references resolve; secrets are wrapped', () => {
  const c = load(good)
  assert.equal(c.configFile, './mailqueue.json')
  assert.equal(c.port, 3000)
  assert.equal(c.maxAttempts, 8)
  assert.deepEqual(c.redis, { us: { kind: 'single', url: 'redis://127.0.0.1:6379' }, eu: { kind: 'single', url: 'redis://127.0.0.1:6379' } })
  assert.equal(c.queuePartitions, 1)
  assert.equal(c.mailgunBase.eu, 'https://api.eu.mailgun.net')
  assert.equal(c.domains.get('mg.example.com')?.sendingKey.reveal(), 'sending-secret')
  assert.equal(c.domains.get('mg.example.com')?.ratePerSecond, 100)
  assert.ok(!inspect(c, { depth: 10 }).includes('sending-secret'))
  assert.ok(!JSON.stringify([...c.domains.values()]).includes('key-eu'))
  assert.ok(Object.isFrozen(c))
})

test('per-region Redis and numbers come from the environment', () => {
  const c = load(good, { REDIS_URL_EU: 'redis://eu:6379', PORT: '8080', WORKER_REGIONS: 'eu' })
  assert.deepEqual(c.redis.eu, { kind: 'single', url: 'redis://eu:6379' })
  assert.deepEqual(c.redis.us, { kind: 'single', url: 'redis://127.0.0.1:6379' })
  assert.equal(c.port, 8080)
  assert.deepEqual(c.workerRegions, ['eu'])
})

test('no file → sandbox (configFile null); a named missing file is an error', () => {
  assert.equal(load(null).configFile, null)
  fails(null, { CONFIG_FILE: '/nope.json' }, /^\/nope\.json: file not found/)
})

test('bad files give one line naming the file and the field', () => {
  fails({ ...good, domains: [good.domains[0], { ...good.domains[1], region: 'asia' }] }, {}, /^\.\/mailqueue\.json: domains\[1\]\.region must be "us" or "eu"$/)
  fails({ ...good, domains: [{ ...good.domains[0], sendingKey: 'env:MISSING' }] }, {}, /domains\[0\]\.sendingKey refers to env:MISSING, which is not set/)
  fails({ ...good, clients: [{ name: 'x', domains: ['*'] }] }, {}, /clients\[0\] needs exactly one of "key" or "keySha256"/)
  fails({ ...good, clients: [{ name: 'x', key: 'k', domains: ['other.com'] }] }, {}, /clients\[0\]\.domains\[0\] "other\.com" is not a configured domain/)
  fails({ ...good, domains: [{ ...good.domains[0], ratePerSecond: 'fast' }] }, {}, /domains\[0\]\.ratePerSecond must be a number/)
  fails({ ...good, extra: 1 }, {}, /extra is not a known field/)
  assert.throws(() => loadConfig({ env: {}, readFile: () => '{oops' }), /mailqueue\.json: not valid JSON/)
})

test('bad environment values name the variable', () => {
  fails(good, { PORT: 'eighty' }, /^environment: PORT must be/)
  fails(good, { WORKER_REGIONS: 'us,asia' }, /^environment: WORKER_REGIONS has the wrong format/)
  fails(good, { REDIS_URL: 'localhost:6379' }, /^environment: REDIS_URL has the wrong format/)
})

test('a client may be given by the SHA-256 of its key', () => {
  const c = load({ ...good, clients: [{ name: 'ops', keySha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', domains: ['*'] }] })
  assert.equal(c.clients[0]?.domains, '*')
  assert.equal(c.clients[0]?.keySha256.toString('hex'), '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')
})

test('a domain may carry the account key (primaryKey) for the Events API: a Secret, null when absent', () => {
  const file = { ...good, domains: [{ ...good.domains[0], primaryKey: 'env:MG_ACCOUNT_KEY' }, good.domains[1]] }
  const c = load(file, { MG_ACCOUNT_KEY: 'account-secret' })
  const domain = c.domains.get('mg.example.com')
  assert.equal(domain?.primaryKey?.reveal(), 'account-secret')
  assert.equal(c.domains.get('mg.example.eu')?.primaryKey, null)
  assert.ok(!inspect(c, { depth: 10 }).includes('account-secret'))
  assert.ok(!JSON.stringify([...c.domains.values()]).includes('account-secret'))
  fails({ ...good, domains: [{ ...good.domains[0], primaryKey: 'env:NOPE' }] }, {}, /^\.\/mailqueue\.json: domains\[0\]\.primaryKey refers to env:NOPE, which is not set$/)
  fails({ ...good, domains: [{ ...good.domains[0], primaryKey: '' }] }, {}, /^\.\/mailqueue\.json: domains\[0\]\.primaryKey /)
})

test('a primary key is redacted from log lines, under a domain or on its own', () => {
  const lines: string[] = []
  const log = createLogger('info', { write: (line: string) => { lines.push(line) } })
  log.info({ domain: { name: 'mg.example.com', primaryKey: 'account-secret' }, primaryKey: 'account-secret' }, 'config')
  assert.equal(lines.length, 1)
  assert.ok(!lines[0]?.includes('account-secret'), lines[0])
  assert.match(lines[0] ?? '', /"primaryKey":"\[redacted\]"/)
})

test('VERIFY_AFTER_MS: 30 minutes by default, any whole number of milliseconds from 0', () => {
  assert.equal(load(good).verifyAfterMs, 1_800_000)
  assert.equal(load(good, { VERIFY_AFTER_MS: '0' }).verifyAfterMs, 0)
  assert.equal(load(good, { VERIFY_AFTER_MS: '60000' }).verifyAfterMs, 60_000)
  fails(good, { VERIFY_AFTER_MS: '-1' }, /^environment: VERIFY_AFTER_MS expected integer to be greater or equal to 0$/)
  fails(good, { VERIFY_AFTER_MS: 'soon' }, /^environment: VERIFY_AFTER_MS must be an integer$/)
})

test('MAILGUN_API_BASE_*: https, or plain http to loopback only; anything else is one line naming the variable', () => {
  for (const base of ['https://api.mailgun.net', 'http://127.0.0.1:8025', 'http://127.3.4.5', 'http://localhost:8025/', 'http://[::1]:8025']) {
    assert.equal(load(good, { MAILGUN_API_BASE_US: base }).mailgunBase.us, base.replace(/\/$/, ''))
  }
  fails(good, { MAILGUN_API_BASE_US: 'http://203.0.113.10' }, /^environment: MAILGUN_API_BASE_US must be an https URL/)
  fails(good, { MAILGUN_API_BASE_EU: 'http://api.eu.mailgun.net' }, /^environment: MAILGUN_API_BASE_EU must be an https URL/)
  fails(good, { MAILGUN_API_BASE_US: 'http://10.0.0.5:8025' }, /MAILGUN_API_BASE_US must be an https URL/)
  fails(good, { MAILGUN_API_BASE_US: 'http://localhost.example.com' }, /MAILGUN_API_BASE_US must be an https URL/)
  fails(good, { MAILGUN_API_BASE_US: 'ftp://127.0.0.1' }, /MAILGUN_API_BASE_US must be an https URL/)
  fails(good, { MAILGUN_API_BASE_US: 'api.mailgun.net' }, /MAILGUN_API_BASE_US is not a URL/)
})

test('HOST: 0.0.0.0 with a config file, 127.0.0.1 in sandbox mode (no file), HOST wins either way', () => {
  assert.equal(load(good).host, '0.0.0.0')
  assert.equal(load(null).host, '127.0.0.1')
  assert.equal(load(null, { HOST: '0.0.0.0' }).host, '0.0.0.0')
  assert.equal(load(good, { HOST: '127.0.0.1' }).host, '127.0.0.1')
})

test('clients[].ratePerSecond: a number above 0, null when absent', () => {
  assert.equal(load(good).clients[0]?.ratePerSecond, null)
  const withRate = { ...good, clients: [{ ...good.clients[0], ratePerSecond: 50 }] }
  assert.equal(load(withRate).clients[0]?.ratePerSecond, 50)
  fails({ ...good, clients: [{ ...good.clients[0], ratePerSecond: 0 }] }, {}, /clients\[0\]\.ratePerSecond expected number to be greater than 0/)
  fails({ ...good, clients: [{ ...good.clients[0], ratePerSecond: 'fast' }] }, {}, /clients\[0\]\.ratePerSecond must be a number/)
})
