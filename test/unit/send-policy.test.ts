import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  backoffMs, decide, isAmbiguous, MAY_HAVE_ACCEPTED, providerMessage, rateLimitWaitMs,
  RATE_LIMIT_DEFAULT_WAIT_MS, RATE_LIMIT_MIN_WAIT_MS,
  type Decision, type PolicyOptions, type ProviderAnswer
} from '../../services/worker/send-policy.js'

// Mon, 20 Dec 2021 20:30:00 UTC: 3 min 21 s before the 429 example in the Mailgun docs.
const NOW = Date.UTC(2021, 11, 20, 20, 30, 0)
const OPTS: PolicyOptions = { maxAttempts: 8, backoffBaseMs: 1000, backoffCapMs: 300_000 }
const half = (): number => 0.5
// The spread added to every 429/420 wait with random() = 0.5.
const SPREAD = 500

function http (status: number, body = '', headers: Record<string, string | string[] | undefined> = {}): ProviderAnswer {
  return { kind: 'http', status, headers, body }
}
function json (message: string): string {
  return `${JSON.stringify({ message })}\n`
}
function retry (d: Decision): Extract<Decision, { kind: 'retry' }> {
  assert.equal(d.kind, 'retry', JSON.stringify(d))
  return d as Extract<Decision, { kind: 'retry' }>
}
function fail (d: Decision): Extract<Decision, { kind: 'fail' }> {
  assert.equal(d.kind, 'fail', JSON.stringify(d))
  return d as Extract<Decision, { kind: 'fail' }>
}

test('2xx is sent', () => {
  for (const status of [200, 201, 202, 299]) {
    assert.deepEqual(decide(http(status, json('Queued. Thank you.')), 1, NOW, OPTS, half), { kind: 'sent' })
  }
})

// Each row: a 429/420 answer and the wait it asks for (before the fixed spread).
const rateLimitRows: Array<{ name: string; status: number; headers?: Record<string, string | string[]>; body?: string; now?: number; waitMs: number }> = [
  { name: 'Retry-After delta-seconds', status: 429, headers: { 'retry-after': '30' }, waitMs: 30_000 },
  { name: 'Retry-After with header name in any case', status: 429, headers: { 'Retry-After': '7' }, waitMs: 7_000 },
  { name: 'Retry-After as an array (first value)', status: 429, headers: { 'retry-after': ['12', '99'] }, waitMs: 12_000 },
  { name: 'Retry-After HTTP-date (IMF-fixdate)', status: 429, headers: { 'retry-after': 'Mon, 20 Dec 2021 20:31:00 GMT' }, waitMs: 60_000 },
  { name: 'Retry-After wins over X-RateLimit-Reset and body', status: 429, headers: { 'retry-after': '3', 'x-ratelimit-reset': String(NOW + 50_000) }, body: json('request limit exceeded, try again after 120 seconds'), waitMs: 3_000 },
  { name: 'unreadable Retry-After falls through to X-RateLimit-Reset', status: 429, headers: { 'retry-after': 'soon', 'x-ratelimit-reset': String(NOW + 9_000) }, waitMs: 9_000 },
  // Mailgun 2021 (VCR message_deliver.yml): X-Ratelimit-Reset: 1620637982656, epoch milliseconds.
  { name: 'X-RateLimit-Reset in epoch milliseconds', status: 429, headers: { 'X-Ratelimit-Reset': String(NOW + 10_000) }, waitMs: 10_000 },
  // mailgun-go errors.go (PR #433) reads the header as epoch seconds (float).
  { name: 'X-RateLimit-Reset in epoch seconds', status: 429, headers: { 'x-ratelimit-reset': String(NOW / 1000 + 15) }, waitMs: 15_000 },
  { name: 'X-RateLimit-Reset in fractional epoch seconds', status: 429, headers: { 'x-ratelimit-reset': String(NOW / 1000 + 2.5) }, waitMs: 2_500 },
  { name: 'X-RateLimit-Reset too small to be an epoch: delta-seconds', status: 429, headers: { 'x-ratelimit-reset': '5' }, waitMs: 5_000 },
  // DOC-SEND "Error codes", verbatim.
  { name: 'body: 429 request limit, try again after <date> (JSON)', status: 429, body: json('Domain example.com is not allowed to send: request limit exceeded, try again after Mon, 20 Dec 2021 20:33:21 UTC'), waitMs: 201_000 },
  { name: 'body: 429 bytes limit, plain text', status: 429, body: 'Domain example.com is not allowed to send: bytes limit exceeded, try again after Mon, 20 Dec 2021 20:33:21 UTC', waitMs: 201_000 },
  // OAS example, verbatim.
  { name: 'body: try again after 120 seconds', status: 429, body: json('Domain example.com is not allowed to send: account-requests-per-sec limit exceeded, try again after 120 seconds'), waitMs: 120_000 },
  // mailgun/mailgun-java#50 (2025): status 420 with a recipient limit, verbatim.
  { name: '420 recipient limit, try again after <date>', status: 420, now: Date.UTC(2025, 7, 25, 7, 0, 0), body: json('Domain X is not allowed to send: recipient limit exceeded, try again after Mon, 25 Aug 2025 07:00:31 UTC'), waitMs: 31_000 },
  { name: 'no hint at all: default wait', status: 429, body: json('Too many requests'), waitMs: RATE_LIMIT_DEFAULT_WAIT_MS },
  { name: '420 without body: default wait', status: 420, waitMs: RATE_LIMIT_DEFAULT_WAIT_MS },
  { name: 'hint in the past: the floor', status: 429, headers: { 'retry-after': 'Mon, 20 Dec 2021 20:00:00 GMT' }, waitMs: RATE_LIMIT_MIN_WAIT_MS },
  { name: 'Retry-After 0: the floor', status: 429, headers: { 'retry-after': '0' }, waitMs: RATE_LIMIT_MIN_WAIT_MS }
]

for (const row of rateLimitRows) {
  test(`rate limited: ${row.name}`, () => {
    const now = row.now ?? NOW
    // Even on the last attempt: a 429 spends nothing, so it never fails the message.
    for (const attempt of [1, OPTS.maxAttempts]) {
      const d = retry(decide(http(row.status, row.body ?? '', row.headers ?? {}), attempt, now, OPTS, half))
      assert.equal(d.notBefore, now + row.waitMs + SPREAD)
      assert.equal(d.spendsAttempt, false)
      assert.equal(d.slowDomain, true)
      assert.match(d.reason, new RegExp(`^rate limited: HTTP ${row.status}`))
    }
  })
}

test('rate limited: the spread only ever adds, within [0, 1 s)', () => {
  const answer = http(429, '', { 'retry-after': '10' })
  assert.equal(retry(decide(answer, 1, NOW, OPTS, () => 0)).notBefore, NOW + 10_000)
  assert.equal(retry(decide(answer, 1, NOW, OPTS, () => 0.999999)).notBefore, NOW + 10_999)
})

test('rate limited: the reason keeps Mailgun\'s words and says when no wait was given', () => {
  const d = retry(decide(http(429, json('Too many requests')), 1, NOW, OPTS, half))
  assert.equal(d.reason, 'rate limited: HTTP 429 Too many requests (no wait given, waiting 60 s)')
})

test('rateLimitWaitMs: null when nothing names a time', () => {
  assert.equal(rateLimitWaitMs({}, '', NOW), null)
  assert.equal(rateLimitWaitMs({ 'retry-after': 'later' }, json('request limit exceeded'), NOW), null)
  assert.equal(rateLimitWaitMs({}, json('try again after lunch'), NOW), null)
})

const retryStatuses = [500, 501, 502, 503, 504, 599, 408]
for (const status of retryStatuses) {
  test(`HTTP ${status} retries with backoff and spends an attempt`, () => {
    for (const attempt of [1, 2, 3, 7]) {
      const d = retry(decide(http(status, json('Internal Server Error')), attempt, NOW, OPTS, half))
      assert.equal(d.notBefore, NOW + Math.floor(0.5 * Math.min(300_000, 1000 * 2 ** (attempt - 1))))
      assert.equal(d.spendsAttempt, true)
      assert.equal(d.slowDomain, false)
      assert.equal(d.reason, `HTTP ${status} Internal Server Error`)
    }
  })
}

const transportCodes = ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'ECONNRESET', 'ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EPIPE']
for (const code of transportCodes) {
  test(`transport ${code} retries with backoff and spends an attempt`, () => {
    const d = retry(decide({ kind: 'transport', code, message: 'boom' }, 2, NOW, OPTS, half))
    assert.equal(d.notBefore, NOW + 1000)
    assert.equal(d.spendsAttempt, true)
    assert.equal(d.slowDomain, false)
    assert.equal(d.reason, `transport error ${code}: boom`)
  })
}

// Verify before retry: a domain with a primaryKey (verifyAfterMs set).
const VERIFYING: PolicyOptions = { ...OPTS, verifyAfterMs: 1_800_000 }
const ambiguousCodes = ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']
const neverSentCodes = ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'CERT_HAS_EXPIRED', 'UNKNOWN']

for (const code of ambiguousCodes) {
  test(`transport ${code} after the request went out: verify after verifyAfterMs, even on the last attempt`, () => {
    const answer: ProviderAnswer = { kind: 'transport', code, message: 'boom' }
    assert.equal(isAmbiguous(answer), true)
    for (const attempt of [1, 8, 9]) {
      const d = decide(answer, attempt, NOW, VERIFYING, half)
      assert.deepEqual(d, { kind: 'verify', notBefore: NOW + 1_800_000, reason: `transport error ${code}: boom; ${MAY_HAVE_ACCEPTED}: its events are checked before it is sent again` })
    }
  })
}

test('verifyAfterMs 0: the check is due at once', () => {
  const d = decide({ kind: 'transport', code: 'ECONNRESET', message: 'x' }, 1, NOW, { ...OPTS, verifyAfterMs: 0 }, half)
  assert.equal(d.kind, 'verify')
  assert.equal((d as { notBefore: number }).notBefore, NOW)
})

for (const code of neverSentCodes) {
  test(`transport ${code} (the request never left): retried as before, even for a verifying domain`, () => {
    assert.equal(isAmbiguous({ kind: 'transport', code, message: 'x' }), false)
    const d = retry(decide({ kind: 'transport', code, message: 'x' }, 2, NOW, VERIFYING, half))
    assert.equal(d.spendsAttempt, true)
  })
}

test('an HTTP answer is never ambiguous: a 5xx retries with backoff for a verifying domain too', () => {
  for (const status of [500, 502, 503, 504]) {
    assert.equal(isAmbiguous(http(status)), false)
    assert.equal(decide(http(status), 1, NOW, VERIFYING, half).kind, 'retry')
  }
})

test('without verifyAfterMs an ambiguous transport error is an ordinary retry', () => {
  const d = retry(decide({ kind: 'transport', code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error' }, 1, NOW, OPTS, half))
  assert.equal(d.reason, 'transport error UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error')
})

test('a request we could not build fails at once', () => {
  const d = fail(decide({ kind: 'transport', code: 'UND_ERR_INVALID_ARG', message: 'invalid body' }, 1, NOW, OPTS, half))
  assert.equal(d.holdDomain, false)
})

test('last attempt of a 5xx or transport error fails, naming the last error', () => {
  const d5 = fail(decide(http(503, '<html>503 Service Temporarily Unavailable</html>'), 8, NOW, OPTS, half))
  assert.equal(d5.holdDomain, false)
  assert.equal(d5.reason, 'gave up after 8 attempts, last error: HTTP 503 <html>503 Service Temporarily Unavailable</html>')
  const dt = fail(decide({ kind: 'transport', code: 'ECONNRESET', message: 'read ECONNRESET' }, 9, NOW, OPTS, half))
  assert.match(dt.reason, /last error: transport error ECONNRESET: read ECONNRESET$/)
  // One before the last still retries.
  retry(decide(http(503), 7, NOW, OPTS, half))
})

// DOC-SEND "Error codes", verbatim.
const failRows: Array<{ status: number; body: string; reason: string }> = [
  { status: 400, body: json('to parameter is not a valid address. please check documentation'), reason: 'HTTP 400 to parameter is not a valid address. please check documentation' },
  { status: 400, body: json('from parameter is missing'), reason: 'HTTP 400 from parameter is missing' },
  { status: 404, body: json('Domain not found: not-our-doma.in'), reason: 'HTTP 404 Domain not found: not-our-doma.in' },
  { status: 404, body: '', reason: 'HTTP 404' },
  { status: 413, body: json('request size exceeds 52.4MiB limit'), reason: 'HTTP 413 request size exceeds 52.4MiB limit' },
  { status: 402, body: json('Request Failed'), reason: 'HTTP 402 Request Failed' },
  { status: 409, body: 'Conflict', reason: 'HTTP 409 Conflict' },
  { status: 422, body: json('unprocessable'), reason: 'HTTP 422 unprocessable' },
  { status: 301, body: '', reason: 'HTTP 301' }
]
for (const row of failRows) {
  test(`HTTP ${row.status} fails at once without holding the domain (${row.reason})`, () => {
    const d = fail(decide(http(row.status, row.body), 1, NOW, OPTS, half))
    assert.deepEqual(d, { kind: 'fail', reason: row.reason, holdDomain: false })
  })
}

test('401 text body `Forbidden` fails and holds the domain (bad key or wrong region)', () => {
  // VCR exceptions-invalid-api-key.yml: 9-byte text/plain body, not JSON.
  const d = decide(http(401, 'Forbidden', { 'www-authenticate': 'Basic realm="MG API"', 'content-type': 'text/plain; charset=utf-8' }), 1, NOW, OPTS, half)
  assert.deepEqual(d, { kind: 'fail', reason: 'sending key rejected (or wrong region): HTTP 401 Forbidden', holdDomain: true })
})

test('403 JSON body keeps Mailgun\'s message and holds the domain', () => {
  // VCR exceptions-not-allowed.yml (2023), verbatim.
  const message = 'Domain DOMAIN.TEST is not allowed to send: Free accounts are for test purposes only. Please upgrade or add the address to authorized recipients in Account Settings.'
  const d = decide(http(403, json(message), { 'x-mailgun-key-id': 'abc' }), 1, NOW, OPTS, half)
  assert.deepEqual(d, { kind: 'fail', reason: `sending key rejected: HTTP 403 ${message}`, holdDomain: true })
})

test('401/403 fail even on a retry-free first attempt and on the last', () => {
  for (const attempt of [1, 8]) {
    assert.equal(fail(decide(http(401, 'Forbidden'), attempt, NOW, OPTS, half)).holdDomain, true)
  }
})

test('backoffMs: full jitter between 0 and the ceiling', () => {
  const o = { backoffBaseMs: 1000, backoffCapMs: 300_000 }
  const ceilings = [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]
  ceilings.forEach((ceiling, i) => {
    const attempt = i + 1
    assert.equal(backoffMs(attempt, o, () => 0), 0)
    assert.equal(backoffMs(attempt, o, () => 0.5), ceiling / 2)
    const top = backoffMs(attempt, o, () => 0.9999999)
    assert.ok(top < ceiling && top >= ceiling - 1, `attempt ${attempt}: ${top} vs ${ceiling}`)
  })
})

test('backoffMs: the cap holds for huge attempt numbers', () => {
  const o = { backoffBaseMs: 1000, backoffCapMs: 300_000 }
  assert.equal(backoffMs(2000, o, () => 0.5), 150_000)
  assert.equal(backoffMs(0, o, () => 0.5), 500)
})

test('providerMessage: Mailgun\'s words, from JSON or text, capped', () => {
  assert.equal(providerMessage('{"message":"Queued. Thank you.","id":"<x@y>"}\n'), 'Queued. Thank you.')
  assert.equal(providerMessage('Forbidden'), 'Forbidden')
  assert.equal(providerMessage('  \n'), '')
  assert.equal(providerMessage('{"error":"no message field"}'), '{"error":"no message field"}')
  assert.equal(providerMessage('{not json'), '{not json')
  assert.equal(providerMessage('{"message": 42}'), '{"message": 42}')
  const long = providerMessage('x'.repeat(2000))
  assert.equal(long, `${'x'.repeat(500)}…`)
})
