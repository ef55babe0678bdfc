import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '../../shared/config.js'
import { logFormatFor } from '../../shared/logger.js'
import { describeRedis, redactedRedisUrl, redisByRegion } from '../../shared/startup.js'

const env = (vars: Record<string, string>) => loadConfig({ env: vars, readFile: () => null })

test('LOG_FORMAT: pretty or json when set; unset, pretty on a terminal and JSON elsewhere', () => {
  assert.equal(env({}).logFormat, null)
  assert.equal(env({ LOG_FORMAT: 'pretty' }).logFormat, 'pretty')
  assert.throws(() => env({ LOG_FORMAT: 'xml' }), /^ConfigError: environment: LOG_FORMAT/)
  assert.equal(logFormatFor(null, { isTTY: true }), 'pretty')
  assert.equal(logFormatFor(null, { isTTY: false }), 'json')
  assert.equal(logFormatFor(null, {}), 'json', 'a pipe or file')
  assert.equal(logFormatFor('json', { isTTY: true }), 'json')
  assert.equal(logFormatFor('pretty', {}), 'pretty')
})

test('start-up lines name each region\'s Redis with any password hidden', () => {
  assert.equal(redactedRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379')
  assert.equal(redactedRedisUrl('rediss://app:p%40ss@cache.internal:6380/2'), 'rediss://app:***@cache.internal:6380/2')
  assert.equal(redactedRedisUrl('redis://:only-password@10.0.0.5:6379'), 'redis://:***@10.0.0.5:6379')
  const one = env({ REDIS_URL: 'redis://:pw@10.0.0.5:6379' })
  assert.equal(describeRedis(one, ['us', 'eu']), 'redis://:***@10.0.0.5:6379 (us, eu)')
  const two = env({ REDIS_URL_US: 'redis://us.internal:6379', REDIS_URL_EU: 'redis://u:pw@eu.internal:6379' })
  assert.equal(describeRedis(two, ['us', 'eu']), 'redis://us.internal:6379 (us); redis://u:***@eu.internal:6379 (eu)')
  assert.deepEqual(redisByRegion(two, ['eu']), { eu: 'redis://u:***@eu.internal:6379' })
  const cluster = env({ REDIS_CLUSTER_NODES_EU: 'rediss://app:pw@10.0.0.1:7000,rediss://app:pw@10.0.0.2:7000' })
  assert.equal(describeRedis(cluster, ['us', 'eu']), 'redis://127.0.0.1:6379 (us); cluster rediss://app:***@10.0.0.1:7000,10.0.0.2:7000 (eu)')
})
