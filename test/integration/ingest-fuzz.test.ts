import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import addrs from 'email-addresses'
import { Pool } from 'undici'
import type { ReceivedMessage } from '../../services/mailgun-sim/server.js'
import { eventually, message, startStack, type Stack } from '../helpers/stack.js'

// Thousands of random and mutated JSON, urlencoded and multipart bodies against every ingestion
// route of a real listening server. Whatever comes in: an answer (never a dropped connection),
// never a 5xx; whatever is accepted reaches Mailgun's stand-in and passes an independent check
// of the rules (email-addresses for the addresses, plain tests for the rest); the process is
// healthy afterwards.
const DOMAIN = 'mg.example.com'
const RUNS = 800
/** Requests of one run, sent at once: a real server sees concurrent bodies, and the run is shorter. */
const PER_RUN = 4
let stack: Stack
let pool: Pool
before(async () => {
  stack = await startStack()
  const url = await stack.api.listen({ host: '127.0.0.1', port: 0 })
  pool = new Pool(url, { connections: 4 })
})
after(async () => {
  await pool.close()
  await stack.close()
})

// Values: the characters that break mail (CR, LF, NUL, lone surrogates, specials), real and
// nearly-real addresses, JSON of any shape, and some that are simply too large or too deep.
const char = fc.constantFrom('a', 'Z', '0', '@', '.', ' ', ',', '<', '>', '"', '(', ')', ':', ';', '\\', '[', ']', '\r', '\n', '\r\n',
  '\u0000', '\t', '\ud800', '\udc00', 'ü', '例', '😀', '=', '?', '%', '&', '+', '-', '_', '\u2028', 'xn--', 'example', 'com', 'mg.example.com')
const address = fc.tuple(fc.stringMatching(/^[a-z0-9.+_-]{1,10}$/), fc.stringMatching(/^[a-z0-9-]{1,8}(\.[a-z0-9-]{1,8}){1,2}$/),
  fc.option(fc.stringMatching(/^[A-Za-z .,"ü]{0,10}$/))).map(([l, d, n]) => (n === null ? `${l}@${d}` : `${n} <${l}@${d}>`))
const text = fc.oneof(
  { weight: 6, arbitrary: fc.array(char, { maxLength: 16 }).map((a) => a.join('')) },
  { weight: 3, arbitrary: address },
  { weight: 1, arbitrary: fc.array(address, { minLength: 2, maxLength: 4 }).map((a) => a.join(', ')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('plainaddress', 'two@@at.example', 'not an address', 'a@b', 'Team: a@x.com;', 'x'.repeat(17_000), '') }
)
const deep = fc.integer({ min: 30, max: 2000 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown)
const json = fc.oneof({ weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: deep })
const key = fc.oneof(fc.constantFrom('X-Campaign', 'Reply-To', 'reply-to', 'Message-Id', 'order'), text)
const texts = fc.array(text, { minLength: 1, maxLength: 4 })

// /v1: a valid message with one to three fields replaced, mostly by a value of the field's type.
const typed: Record<string, fc.Arbitrary<unknown>> = {
  from: text, subject: text, text, html: text, ampHtml: text, template: text, sendAt: text, domain: fc.constantFrom(DOMAIN, 'MG.Example.com', 'other.example'),
  to: texts, cc: texts, bcc: texts, tags: texts,
  headers: fc.dictionary(key, text, { maxKeys: 3 }), variables: fc.dictionary(key, fc.oneof(text, json), { maxKeys: 3 }),
  templateVariables: fc.dictionary(key, json, { maxKeys: 2 }), recipientVariables: fc.dictionary(text, fc.dictionary(key, json, { maxKeys: 2 }), { maxKeys: 2 }),
  attachments: fc.array(fc.record({ filename: text, content: fc.oneof(fc.constant('aGVsbG8='), text) }), { maxLength: 2 }),
  options: fc.record({ deliveryTime: text, testMode: fc.boolean() }, { requiredKeys: [] })
}
const v1Message = fc.array(fc.tuple(fc.constantFrom(...Object.keys(typed), 'unknownField'), fc.boolean()), { minLength: 1, maxLength: 3 })
  .chain((picks) => fc.tuple(...picks.map(([field, wellTyped]) => (wellTyped ? typed[field] ?? json : json).map((v) => [field, v] as const))))
  .map((changes) => ({ ...message(DOMAIN), ...Object.fromEntries(changes) }))

// /v3: the fields of a valid send, plus or instead of one to four hostile ones.
const v3Name = fc.oneof(
  fc.constantFrom('from', 'to', 'cc', 'bcc', 'subject', 'text', 'html', 'amp-html', 'template', 't:version', 't:variables', 'recipient-variables',
    'o:tag', 'o:testmode', 'o:deliverytime', 'h:Reply-To', 'h:X-Custom', 'h:Message-Id', 'v:order', 'message'),
  text.map((t) => `h:${t}`), text.map((t) => `v:${t}`), text)
const v3Value = fc.oneof({ weight: 4, arbitrary: text }, { weight: 1, arbitrary: json.map((j) => JSON.stringify(j)) })
const v3Fields = fc.tuple(fc.boolean(), fc.array(fc.tuple(v3Name, v3Value), { minLength: 1, maxLength: 4 })).map(([replace, extra]) => {
  const base: Array<[string, string]> = [['from', `Shop <shop@${DOMAIN}>`], ['to', 'user@example.com'], ['text', 'hi']]
  return replace ? [...base.filter(([n]) => !extra.some(([e]) => e === n)), ...extra] : [...base, ...extra]
})

interface Part { name: string, value: Buffer, filename?: string, headers?: string }
const file = fc.record({
  name: fc.constantFrom('attachment', 'inline', 'message', 'to', 'other'),
  value: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  filename: fc.oneof(fc.constant('a.txt'), text),
  headers: fc.constantFrom('', 'Content-Type: text/plain\r\n', 'Content-Type: application/octet-stream\r\n')
}, { requiredKeys: ['name', 'value'] })
const multipart = fc.tuple(v3Fields, fc.array(file, { maxLength: 2 }), fc.constantFrom('none', 'no-boundary', 'truncate', 'base64-part', 'latin1', 'flip-byte'),
  fc.nat(), fc.nat({ max: 255 })).map(([fields, files, damage, at, byte]) => {
  const boundary = 'fuzz-b0undary'
  const parts: Part[] = [...fields.map(([name, value]) => ({ name, value: Buffer.from(value) })), ...files]
  if (damage === 'base64-part' && parts[0]) parts[0].headers = 'Content-Transfer-Encoding: base64\r\n'
  if (damage === 'latin1') parts.push({ name: 'text', value: Buffer.from([0x68, 0xe9, 0x21]) })
  let body = Buffer.concat([...parts.flatMap((p) => [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name.replace(/["\r\n]/g, '_')}"` +
      (p.filename !== undefined ? `; filename="${p.filename.replace(/["\r\n]/g, '_')}"` : '') + `\r\n${p.headers ?? ''}\r\n`),
    p.value, Buffer.from('\r\n')
  ]), Buffer.from(`--${boundary}--\r\n`)])
  if (damage === 'truncate') body = body.subarray(0, at % body.length)
  if (damage === 'flip-byte' && body.length > 0) body[at % body.length] = byte
  return { body, contentType: damage === 'no-boundary' ? 'multipart/form-data' : `multipart/form-data; boundary=${boundary}` }
})

interface Request { path: string, contentType: string, body: string | Buffer }
const request: fc.Arbitrary<Request> = fc.oneof(
  { weight: 8, arbitrary: v1Message.map((m) => ({ path: '/v1/messages', contentType: 'application/json', body: JSON.stringify(m) })) },
  { weight: 2, arbitrary: fc.array(v1Message, { minLength: 1, maxLength: 5 }).map((messages) => ({ path: '/v1/messages/batch', contentType: 'application/json', body: JSON.stringify({ messages }) })) },
  { weight: 6, arbitrary: v3Fields.map((f) => ({ path: `/v3/${DOMAIN}/messages`, contentType: 'application/x-www-form-urlencoded', body: new URLSearchParams(f).toString() })) },
  { weight: 6, arbitrary: multipart.map((m) => ({ path: `/v3/${DOMAIN}/messages`, contentType: m.contentType, body: m.body })) },
  { weight: 2, arbitrary: multipart.map((m) => ({ path: `/v3/${DOMAIN}/messages.mime`, contentType: m.contentType, body: m.body })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('/v1/messages', '/v1/messages/batch', `/v3/${DOMAIN}/messages`, `/v3/${DOMAIN}/messages.mime`),
    fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', 'application/octet-stream'),
    fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), json.map((j) => JSON.stringify(j)))).map(([path, contentType, body]) => ({ path, contentType, body })) }
)

test(`${RUNS * PER_RUN} hostile bodies: an answer below 500 each, and only what the rules allow reaches Mailgun`, async () => {
  const accepted = new Set<string>()
  const statuses = new Map<number, number>()
  const auth = 'Basic ' + Buffer.from(`api:${stack.clientKeys.main}`).toString('base64')
  const send = async (req: Request): Promise<void> => {
    const res = await pool.request({ method: 'POST', path: req.path, headers: { authorization: auth, 'content-type': req.contentType }, body: req.body, headersTimeout: 10_000 })
    const answer = await res.body.text()
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    assert.ok(res.statusCode < 500, `${res.statusCode} ${answer}`)
    if (res.statusCode >= 300) return
    const json = JSON.parse(answer) as { id?: string, messageId?: string, results?: Array<{ id?: string }> }
    if (req.path.startsWith('/v3/')) accepted.add(json.id as string)
    else if (json.messageId) accepted.add(json.messageId)
    else for (const r of json.results ?? []) if (r.id) accepted.add(`<${r.id.slice(3)}@${DOMAIN}>`)
  }
  await fc.assert(fc.asyncProperty(fc.array(request, { minLength: PER_RUN, maxLength: PER_RUN }), async (reqs) => {
    await Promise.all(reqs.map(send))
  }), { numRuns: RUNS, includeErrorInReport: true })
  // Both sides of the rules were exercised.
  const ok = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0)
  assert.ok(ok > RUNS * PER_RUN / 20 && ok < RUNS * PER_RUN * 0.9, `statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)

  const received = await eventually(() => {
    const got = stack.sims.us.received()
    return got.length >= accepted.size ? got : undefined
  }, `${accepted.size} accepted messages at the simulator`, 60_000)
  assert.equal(stack.sims.us.requests(), received.length, 'the simulator refused nothing (Mailgun\'s own checks)')
  assert.equal(received.length, accepted.size)
  for (const m of received) {
    assert.ok(accepted.has(m.messageId ?? ''), `${m.messageId} was never accepted`)
    assert.deepEqual(ruleBreaks(m), [], m.messageId ?? '')
  }

  assert.equal((await pool.request({ method: 'GET', path: '/healthz' })).statusCode, 200)
  const ready = await pool.request({ method: 'GET', path: '/readyz' })
  assert.equal(ready.statusCode, 200, await ready.body.text())
})

/** What an accepted message should never hold, checked without mailqueue's own rule modules. */
function ruleBreaks (m: ReceivedMessage): string[] {
  const breaks: string[] = []
  const multiLine = new Set(['text', 'html', 'amp-html', 't:variables', 'recipient-variables'])
  let options = 0
  let recipients = 0
  for (const [name, values] of Object.entries(m.fields)) {
    if (/^[hovt]:/i.test(name)) for (const v of values) options += Buffer.byteLength(name) + Buffer.byteLength(v)
    if (/[\r\n\0]|[\ud800-\udfff]/u.test(name)) breaks.push(`field name ${JSON.stringify(name)}`)
    if (/^h:/i.test(name) && !/^h:[!-9;-~]+$/i.test(name)) breaks.push(`header name ${JSON.stringify(name)}`)
    for (const v of values) {
      if (/\0|[\ud800-\udfff]/u.test(v)) breaks.push(`${name} holds NUL or a lone surrogate`)
      if (!multiLine.has(name) && !/^v:/i.test(name) && /[\r\n]/.test(v)) breaks.push(`${name} breaks the line`)
      if (['from', 'to', 'cc', 'bcc', 'h:reply-to'].includes(name.toLowerCase())) {
        const list = addrs.parseAddressList({ input: v, rfc6532: true })
        if (!list || list.some((a) => a.type !== 'mailbox' || !a.domain.includes('.'))) breaks.push(`${name} ${JSON.stringify(v)} is not a list of mailboxes`)
        else if (name === 'from' && list.length !== 1) breaks.push('from is not one mailbox')
        else if (['to', 'cc', 'bcc'].includes(name)) recipients += list.length
      }
    }
  }
  if ((m.fields['o:tag']?.length ?? 0) > 3) breaks.push('more than 3 tags')
  if (recipients > 1000) breaks.push(`${recipients} recipients`)
  if (options > 16_000) breaks.push(`${options} bytes of send options`)
  return breaks
}
