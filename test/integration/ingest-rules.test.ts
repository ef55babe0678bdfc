import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, message, startStack, type Stack } from '../helpers/stack.js'

// The rules of ingest, each from both sides: what passes reaches Mailgun as written, what breaks
// a rule gets a 4xx naming the field on /v1 and /v3 alike.
const DOMAIN = 'mg.example.com'
let stack: Stack
before(async () => { stack = await startStack() })
after(async () => { await stack.close() })

const basicAuth = () => ({ authorization: 'Basic ' + Buffer.from(`api:${stack.clientKeys.main}`).toString('base64') })
const v1 = (extra: Record<string, unknown>) => stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message(DOMAIN, extra) })
const v3 = (fields: Array<[string, string]>, path = 'messages') => stack.api.inject({
  method: 'POST', url: `/v3/${DOMAIN}/${path}`, payload: new URLSearchParams(fields).toString(),
  headers: { ...basicAuth(), 'content-type': 'application/x-www-form-urlencoded' }
})
const base: Array<[string, string]> = [['from', `shop@${DOMAIN}`], ['to', 'user@example.com'], ['text', 'hi']]
const arrival = (messageId: string) => eventually(() => stack.sims.us.received().find((m) => m.messageId === messageId), `arrival of ${messageId}`)
const messageOf = (body: string): string => (JSON.parse(body) as { message: string }).message

test('addresses: display names, quoted local parts, internationalized names and domains pass as written', async () => {
  const to = ['"Doe, John" <john@example.com>', '"john smith"@example.com', 'Jörg <jörg@bücher.de>', '用户@例子.广告', 'John Q. Public <jqp@example.com>']
  const native = await v1({ from: `Shop (EU) <shop@${DOMAIN}>`, to, headers: { 'Reply-To': 'Support <help@example.com>, sales@example.com' } })
  assert.equal(native.statusCode, 202, native.body)
  const got = await arrival(native.json().messageId)
  assert.deepEqual(got.fields.to, to)
  assert.deepEqual(got.fields['h:Reply-To'], ['Support <help@example.com>, sales@example.com'])

  const dropIn = await v3([['from', `Shop <shop@${DOMAIN}>`], ['to', 'a@example.com, "B, b" <b@example.com>'], ['to', 'c@example.com'], ['text', 'hi'], ['h:Reply-To', 'help@example.com']])
  assert.equal(dropIn.statusCode, 200, dropIn.body)
  assert.deepEqual((await arrival(dropIn.json().id)).fields.to, ['a@example.com, "B, b" <b@example.com>', 'c@example.com'])
})

test('addresses: a refusal names the field (to[1], cc, h:Reply-To) and says why', async () => {
  const native = await v1({ to: ['user@example.com', 'Team: a@example.com;'] })
  assert.equal(native.statusCode, 400)
  assert.match(messageOf(native.body), /^to\[1\] is not a valid address: it is a group/)
  const dropIn = await v3([...base, ['cc', 'a@example.com, b@[192.0.2.1]']])
  assert.equal(dropIn.statusCode, 400)
  assert.equal(messageOf(dropIn.body), 'cc is not a valid address list: it has an address literal ([…]) as domain (address 2 of the list)')
  const replyTo = await v1({ headers: { 'reply-to': 'nobody' } })
  assert.equal(messageOf(replyTo.body), 'headers.reply-to is not a valid address list: it has no @')
})

test('text: bodies may break lines, single-line fields may not; nothing holds NUL', async () => {
  const ok = await v1({ text: 'line 1\r\nline 2', html: '<p>\n</p>', subject: 'Grüße 👋', tags: ['a b'], headers: { 'X-Campaign': 'spring 2026' } })
  assert.equal(ok.statusCode, 202, ok.body)
  const refusals: Array<[Record<string, unknown>, string]> = [
    [{ subject: 'a\nBcc: victim@example.net' }, 'subject must not contain a line break (CR or LF)'],
    [{ tags: ['a\r\nb'] }, 'tags[0] must not contain a line break (CR or LF)'],
    [{ template: 't\n', text: undefined }, 'template must not contain a line break (CR or LF)'],
    [{ attachments: [{ filename: 'a\r\n.txt', content: 'aGk=' }] }, 'attachments[0].filename must not contain a line break (CR or LF)'],
    [{ text: 'a\u0000b' }, 'text must not contain NUL'],
    [{ variables: { 'a\nb': 'x' } }, 'variables["a\\nb"] is not a valid field name: it must not contain a line break (CR or LF)'],
    [{ subject: 'lone \ud800 half' }, 'subject must be valid Unicode (it has a lone surrogate)']
  ]
  for (const [extra, expected] of refusals) {
    const res = await v1(extra)
    assert.equal(res.statusCode, 400, JSON.stringify(extra))
    assert.equal(messageOf(res.body), expected)
  }
})

test('Mailgun\'s limits: 1,000 recipients, 3 tags, 16 kB of send options', async () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `u${i}@example.com`)
  assert.equal((await v1({ to: many(600), cc: many(400) })).statusCode, 202)
  const over = await v1({ to: many(600), cc: many(400), bcc: ['one.more@example.com'] })
  assert.equal(over.statusCode, 400)
  assert.match(messageOf(over.body), /^bcc\[0\] brings the recipients \(to, cc and bcc together\) over Mailgun's limit of 1000/)
  const overV3 = await v3([...base, ['cc', many(1000).join(',')]])
  assert.match(messageOf(overV3.body), /^cc brings the recipients/)

  assert.equal((await v3([...base, ['o:tag', 'a'], ['o:tag', 'b'], ['o:tag', 'c']])).statusCode, 200)
  const fourTags = await v3([...base, ['o:tag', 'a'], ['o:tag', 'b'], ['o:tag', 'c'], ['o:tag', 'd']])
  assert.equal(messageOf(fourTags.body), 'o:tag is one tag too many: Mailgun takes at most 3')
  assert.equal((await v1({ tags: ['a', 'b', 'c', 'd'] })).statusCode, 400)

  const options = await v1({ variables: { a: 'x'.repeat(8000), b: 'y'.repeat(8000) } })
  assert.equal(options.statusCode, 400)
  assert.match(messageOf(options.body), /^variables\.b brings the send options .* 16 kB/)
})

test('a decoded message over 25 MB is a 413, on /v1 and on /v3 (multipart, before the rest is read)', async () => {
  const big = Buffer.alloc(25_000_001, 97).toString('base64')
  const native = await v1({ attachments: [{ filename: 'big.bin', content: big }] })
  assert.equal(native.statusCode, 413, native.body.slice(0, 200))
  assert.match(messageOf(native.body), /^attachments\[0\] brings the message .* 25 MB/)

  const boundary = 'mq-boundary'
  const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  const body = Buffer.concat([
    Buffer.from(part('from', `shop@${DOMAIN}`) + part('to', 'user@example.com') + part('text', 'hi') +
      `--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="big.bin"\r\n\r\n`),
    Buffer.alloc(26_000_000, 98), Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  const dropIn = await stack.api.inject({ method: 'POST', url: `/v3/${DOMAIN}/messages`, payload: body, headers: { ...basicAuth(), 'content-type': `multipart/form-data; boundary=${boundary}` } })
  assert.equal(dropIn.statusCode, 413)
  assert.match(messageOf(dropIn.body), /^attachment brings the message .* 25 MB/)

  const tooLong = await stack.api.inject({
    method: 'POST', url: `/v3/${DOMAIN}/messages`, payload: Buffer.alloc(53 * 1024 * 1024, 99),
    headers: { ...basicAuth(), 'content-type': `multipart/form-data; boundary=${boundary}` }
  })
  assert.equal(tooLong.statusCode, 413)
  assert.equal(messageOf(tooLong.body), 'request size exceeds 52.4MiB limit')
})

test('broken bodies are a 400, never a 5xx: truncated or mis-encoded multipart, bad JSON, other media types', async () => {
  const boundary = 'b0undary'
  const multipart = (body: string | Buffer, type = `multipart/form-data; boundary=${boundary}`) => stack.api.inject({
    method: 'POST', url: `/v3/${DOMAIN}/messages`, payload: body, headers: { ...basicAuth(), 'content-type': type }
  })
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="from"\r\n\r\nshop@${DOMAIN}\r\n`
  const truncated = await multipart(head + `--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nhel`)
  assert.deepEqual([truncated.statusCode, messageOf(truncated.body)], [400, 'malformed multipart/form-data request'])
  const noBoundary = await multipart(head, 'multipart/form-data')
  assert.deepEqual([noBoundary.statusCode, messageOf(noBoundary.body)], [400, 'malformed multipart/form-data request'])
  const base64Part = await multipart(head + `--${boundary}\r\nContent-Disposition: form-data; name="to"\r\nContent-Transfer-Encoding: base64\r\n\r\ndUBleGFtcGxlLmNvbQ==\r\n--${boundary}--\r\n`)
  assert.equal(base64Part.statusCode, 400)
  assert.match(messageOf(base64Part.body), /^to has Content-Transfer-Encoding "base64"/)
  const latin1 = await multipart(Buffer.concat([Buffer.from(head + `--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n`), Buffer.from([0x68, 0xe9]), Buffer.from(`\r\n--${boundary}--\r\n`)]))
  assert.deepEqual([latin1.statusCode, messageOf(latin1.body)], [400, 'text is not valid UTF-8'])

  // Found by the fuzz test: a part without a name was a 500, a file part cut short an uncaught error.
  const nameless = await multipart(head + `--${boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${boundary}--\r\n`)
  assert.deepEqual([nameless.statusCode, messageOf(nameless.body)], [400, 'a part has no name (Content-Disposition: form-data; name="…")'])
  const cutFile = await multipart(head + `--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="a.txt"\r\n\r\nabc`)
  assert.deepEqual([cutFile.statusCode, messageOf(cutFile.body)], [400, 'malformed multipart/form-data request'])

  const badEscape = await stack.api.inject({ method: 'POST', url: `/v3/${DOMAIN}/messages`, payload: `from=shop%40${DOMAIN}&to=u%40example.com&text=100%`, headers: { ...basicAuth(), 'content-type': 'application/x-www-form-urlencoded' } })
  assert.deepEqual([badEscape.statusCode, messageOf(badEscape.body)], [400, 'unable to parse request: invalid URL escape'])

  const json = await stack.api.inject({ method: 'POST', url: `/v3/${DOMAIN}/messages`, payload: { to: 'a@example.com' }, headers: basicAuth() })
  assert.equal(json.statusCode, 415)
  const badJson = await stack.api.inject({ method: 'POST', url: '/v1/messages', payload: '{"domain":', headers: { ...stack.auth(), 'content-type': 'application/json' } })
  assert.equal(badJson.statusCode, 400)
  const deepBatch = await stack.api.inject({
    method: 'POST', url: '/v1/messages/batch', headers: { ...stack.auth(), 'content-type': 'application/json' },
    payload: `{"messages":[{"templateVariables":{"x":${'['.repeat(40)}${']'.repeat(40)}}}]}`
  })
  assert.equal(deepBatch.statusCode, 400)
  assert.match(messageOf(deepBatch.body), /^messages\[0\]\.templateVariables\.x\[0\].* nests deeper than 32 levels of JSON/)
  const deepV3 = await v3([...base, ['t:variables', `{"a":${'['.repeat(40)}${']'.repeat(40)}}`]])
  assert.match(messageOf(deepV3.body), /^t:variables nests deeper than 32 levels/)
})

test('schema errors name the field as written: to[0], from, messages[2].subject', async () => {
  const missing = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: { domain: DOMAIN, to: ['a@example.com'], text: 'x' } })
  assert.equal(messageOf(missing.body), 'from is required')
  const notString = await v1({ to: [42] })
  assert.equal(messageOf(notString.body), 'to[0] must be string')
  const batch = await stack.api.inject({ method: 'POST', url: '/v1/messages/batch', headers: stack.auth(), payload: { messages: [message(DOMAIN), message(DOMAIN), message(DOMAIN, { subject: 7 })] } })
  assert.equal(batch.statusCode, 207)
  assert.match(batch.json().results[2].error, /^messages\[2\]\.subject /)
})
