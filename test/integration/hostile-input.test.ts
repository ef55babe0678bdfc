import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { eventually, message, startStack, type Stack } from '../helpers/stack.js'

// Each attack of the "trust at the edges" review, tried against the API as a caller would: every
// one is refused with a 4xx naming the field, and none reaches Mailgun.
const DOMAIN = 'mg.example.com'
let stack: Stack
before(async () => {
  stack = await startStack({ domains: [{ name: DOMAIN, region: 'us' }, { name: 'keyless.example.com', region: 'us', webhookKey: false }, { name: 'redirect.example.com', region: 'us' }] })
})
after(async () => { await stack.close() })

const basic = (user: string, key: string) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${key}`).toString('base64') })
const postV1 = (payload: unknown) => stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: payload as object })
const postV3 = (body: string, headers: Record<string, string> = {}) => stack.api.inject({
  method: 'POST', url: `/v3/${DOMAIN}/messages`, payload: body,
  headers: { ...basic('api', stack.clientKeys.main as string), 'content-type': 'application/x-www-form-urlencoded', ...headers }
})
const form = (fields: Record<string, string>) => new URLSearchParams({ from: `shop@${DOMAIN}`, to: 'user@example.com', text: 'hi', ...fields }).toString()

function refused (res: { statusCode: number, body: string }, status: number, field: string | RegExp): void {
  assert.equal(res.statusCode, status, res.body)
  const { message: text } = JSON.parse(res.body) as { message: string }
  if (typeof field === 'string') assert.ok(text.startsWith(field + ' ') || text.includes(` ${field} `), `"${text}" names ${field}`)
  else assert.match(text, field)
}

const v1Attacks: Array<[string, Record<string, unknown>, string]> = [
  ['a recipient without @', { to: ['plainaddress'] }, 'to[0]'],
  ['a recipient with two @', { to: ['user@example.com', 'two@@at.example'] }, 'to[1]'],
  ['a sender that is no address', { from: 'not an address' }, 'from'],
  ['NUL in a recipient', { to: ['user\u0000@example.com'] }, 'to[0]'],
  ['NUL in the subject', { subject: 'Hi\u0000there' }, 'subject'],
  ['CR/LF in a header name', { headers: { 'X-A\r\nBcc: victim@example.net': 'x' } }, 'headers["X-A\\r\\nBcc: victim@example.net"]'],
  ['a header name that is not ASCII', { headers: { 'X-Grüße': 'x' } }, 'headers["X-Grüße"]'],
  ['NUL in a header value', { headers: { 'X-A': 'a\u0000b' } }, 'headers.X-A'],
  ['a v: variable of 20 KB', { variables: { big: 'x'.repeat(20 * 1024) } }, 'variables.big']
]

for (const [what, extra, field] of v1Attacks) {
  test(`/v1/messages refuses ${what}`, async () => {
    refused(await postV1(message(DOMAIN, extra)), 400, field)
  })
}

test('/v1/messages refuses variables nested 10,000 deep with a 400', async () => {
  const payload = `{"domain":"${DOMAIN}","from":"shop@${DOMAIN}","to":["user@example.com"],"text":"hi","variables":{"deep":` +
    '['.repeat(10_000) + ']'.repeat(10_000) + '}}'
  const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: { ...stack.auth(), 'content-type': 'application/json' }, payload })
  refused(res, 400, /^variables\.deep\[0\]/)
})

const v3Attacks: Array<[string, Record<string, string>, string]> = [
  ['a recipient without @', { to: 'plainaddress' }, 'to'],
  ['a recipient with two @ in a comma list', { to: 'user@example.com, two@@at.example' }, 'to'],
  ['a sender that is no address', { from: 'not an address' }, 'from'],
  ['NUL in the subject', { subject: 'a\u0000b' }, 'subject'],
  ['CR/LF in a header name', { 'h:X-A\r\nBcc: victim@example.net': 'x' }, 'h:"X-A\\r\\nBcc: victim@example.net"'],
  ['a header name that is not ASCII', { 'h:X-Grüße': 'x' }, 'h:"X-Grüße"'],
  ['NUL in a header value', { 'h:X-A': 'a\u0000b' }, 'h:X-A'],
  ['a v: variable of 20 KB', { 'v:big': 'x'.repeat(20 * 1024) }, /16 kB/],
  ['a bad h:Reply-To', { 'h:Reply-To': 'nobody' }, 'h:Reply-To']
] as Array<[string, Record<string, string>, string]>

for (const [what, fields, field] of v3Attacks) {
  test(`/v3/:domain/messages refuses ${what}`, async () => {
    refused(await postV3(form(fields)), 400, field)
  })
}

test('a batch of 1,000 with 10 invalid items queues exactly the 990 valid ones', async () => {
  const bad = new Set([3, 99, 100, 250, 401, 512, 640, 777, 901, 999])
  const messages = Array.from({ length: 1000 }, (_, i) => message(DOMAIN, bad.has(i)
    ? { to: [i % 2 === 0 ? 'plainaddress' : 'two@@at.example'] }
    : { subject: `batch ${i}` }))
  const res = await stack.api.inject({ method: 'POST', url: '/v1/messages/batch', headers: stack.auth(), payload: { messages } })
  assert.equal(res.statusCode, 207, res.body)
  const results = res.json().results as Array<{ index: number, id?: string, error?: string }>
  const errors = results.filter((r) => r.error !== undefined)
  assert.deepEqual(errors.map((r) => r.index), [...bad])
  for (const r of errors) assert.match(r.error as string, new RegExp(`^messages\\[${r.index}\\]\\.to\\[0\\] `))
  const ids = new Set(results.flatMap((r) => (r.id ? [r.id] : [])))
  assert.equal(ids.size, 990)
  const arrived = await eventually(() => {
    const got = stack.sims.us.received().filter((m) => m.fields.subject?.[0]?.startsWith('batch '))
    return got.length >= 990 ? got : undefined
  }, '990 arrivals', 60_000)
  assert.equal(arrived.length, 990)
  for (const m of arrived) assert.doesNotMatch(m.fields.to?.[0] ?? '', /plainaddress|@@/)
})

test('/v3 refuses a multipart body without a boundary with a 400', async () => {
  const res = await postV3('--x\r\nContent-Disposition: form-data; name="to"\r\n\r\nuser@example.com\r\n--x--\r\n', { 'content-type': 'multipart/form-data' })
  refused(res, 400, /multipart/)
})

test('/v3 refuses a 32 MiB multipart body with a 413', async () => {
  const boundary = 'b' + randomBytes(8).toString('hex')
  const head = ['from', 'to', 'text'].map((name, i) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${[`shop@${DOMAIN}`, 'user@example.com', 'hi'][i]}\r\n`).join('')
  const file = `--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
  const body = Buffer.concat([Buffer.from(head + file), Buffer.alloc(32 * 1024 * 1024, 97), Buffer.from(`\r\n--${boundary}--\r\n`)])
  const res = await postV3(body as unknown as string, { 'content-type': `multipart/form-data; boundary=${boundary}` })
  assert.equal(res.statusCode, 413, res.body)
})

test('Basic auth with another user than api is refused on /v1 and /v3', async () => {
  const key = stack.clientKeys.main as string
  const v1 = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: basic('admin', key), payload: message(DOMAIN) })
  assert.equal(v1.statusCode, 401)
  const v3 = await postV3(form({}), basic('admin', key))
  assert.equal(v3.statusCode, 401)
  assert.equal(v3.body, 'Forbidden')
  const ok = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: basic('api', key), payload: message(DOMAIN) })
  assert.equal(ok.statusCode, 202, ok.body)
})

test('a webhook event for a domain without a signing key, signed with another domain\'s key, is refused', async () => {
  const accepted = (await postV1(message('keyless.example.com'))).json() as { id: string, messageId: string }
  const token = randomBytes(25).toString('hex')
  const timestamp = String(Math.floor(Date.now() / 1000))
  const signature = createHmac('sha256', stack.webhookKeys[DOMAIN] as string).update(timestamp + token).digest('hex')
  const event = { event: 'delivered', timestamp: Date.now() / 1000, message: { headers: { 'message-id': accepted.messageId.slice(1, -1) } } }
  const res = await stack.api.inject({ method: 'POST', url: '/v1/webhooks/mailgun', payload: { signature: { timestamp, token, signature }, 'event-data': event } })
  assert.equal(res.statusCode, 401, res.body)
  const record = await eventually(async () => {
    const r = (await stack.api.inject({ url: `/v1/messages/${accepted.id}`, headers: stack.auth() })).json()
    return r.status === 'sent' ? r : undefined
  }, 'the keyless domain\'s message sent')
  assert.deepEqual(record.events, [])
})

test('a redirect from the Mailgun side is never followed: the sending key would go wherever Location says', async () => {
  // A domain of its own, so no message of another test meets the fault.
  const domain = 'redirect.example.com'
  stack.sims.us.addFault({ status: 302, count: 1, domain, headers: { location: `${stack.sims.eu.url}/v3/${domain}/messages` }, body: '' })
  const accepted = (await postV1(message(domain))).json() as { id: string }
  const record = await eventually(async () => {
    const r = (await stack.api.inject({ url: `/v1/messages/${accepted.id}`, headers: stack.auth() })).json()
    return r.status === 'failed' ? r : undefined
  }, 'the redirected message failed')
  assert.match(record.error, /^HTTP 302/)
  assert.equal(stack.sims.eu.requests(), 0)
})
