import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { FormData, request } from 'undici'
import { startSimulator, type Simulator } from '../../services/mailgun-sim/server.js'

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

const DOMAIN = 'mg.sim.test'
const KEY = 'sending-key-1'
const OTHER = 'other.sim.test'
const OTHER_KEY = 'sending-key-2'
const ACCOUNT = 'account-key'

const basic = (key: string): string => 'Basic ' + Buffer.from(`api:${key}`).toString('base64')

type Fields = Array<[string, string]>
const minimal: Fields = [['from', 'Shop <shop@mg.sim.test>'], ['to', 'user@example.com'], ['subject', 'Hi'], ['text', 'Hello']]

async function post (sim: Simulator, opts: { domain?: string, key?: string, fields?: Fields, body?: string | FormData, endpoint?: string } = {}) {
  const body = opts.body ?? new URLSearchParams(opts.fields ?? minimal).toString()
  const res = await request(`${sim.url}/v3/${opts.domain ?? DOMAIN}/${opts.endpoint ?? 'messages'}`, {
    method: 'POST',
    headers: {
      authorization: basic(opts.key ?? KEY),
      ...(typeof body === 'string' ? { 'content-type': 'application/x-www-form-urlencoded' } : {})
    },
    body
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as { id?: string, message: string } }
}

interface EventItem {
  event: string, id: string, timestamp: number, recipient: string, 'recipient-domain': string,
  message: { headers: { 'message-id': string, to: string, from: string, subject: string } },
  flags: Record<string, boolean>, tags: string[], 'user-variables': Record<string, string>, envelope: { targets: string }
}
interface EventsAnswer { items: EventItem[], paging: { first: string, last: string, next: string, previous: string } }

/** GET an Events API URL: a query on a domain (`?…`) or a paging URL from an earlier answer. */
async function events (sim: Simulator, target: string, opts: { key?: string | null, domain?: string } = {}) {
  const url = target.startsWith('http') ? target : `${sim.url}/v3/${opts.domain ?? DOMAIN}/events${target}`
  const key = opts.key === undefined ? ACCOUNT : opts.key
  const res = await request(url, { headers: key === null ? {} : { authorization: basic(key) } })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as EventsAnswer }
}

/** Every item of a listing, following `next` until a page comes back empty. */
async function listAll (sim: Simulator, query: string): Promise<EventItem[][]> {
  const pages: EventItem[][] = []
  let page = (await events(sim, query)).json()
  for (;;) {
    pages.push(page.items)
    if (page.items.length === 0) return pages
    page = (await events(sim, page.paging.next)).json()
  }
}

const idsOf = (items: EventItem[]): string[] => items.map((e) => e.message.headers['message-id'])

/** Polls until `check` is true or the deadline passes (no fixed sleeps). */
async function until (check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(20)
  }
  assert.fail(`timed out waiting for ${what}`)
}

describe('mailgun simulator (full mode)', () => {
  let sim: Simulator
  before(async () => {
    sim = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }, { name: OTHER, sendingKey: OTHER_KEY }], accountKey: ACCOUNT })
  })
  after(async () => { await sim.close() })

  test('an accepted send is recorded with its fields and key, and answered like Mailgun', async () => {
    sim.reset()
    const before = Date.now()
    const res = await post(sim, { fields: [...minimal, ['to', 'b@example.com, "Doe, J" <j@example.com>'], ['h:Message-Id', '<abc.123@mg.sim.test>'], ['o:tag', 'a'], ['o:tag', 'b']] })
    assert.equal(res.status, 200, res.text)
    assert.match(String(res.headers['content-type']), /^application\/json/)
    assert.deepEqual(res.json(), { id: '<abc.123@mg.sim.test>', message: 'Queued. Thank you.' })
    assert.match(String(res.headers.date), /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/)
    const [got, ...rest] = sim.received()
    assert.equal(rest.length, 0)
    assert.ok(got)
    assert.equal(got.domain, DOMAIN)
    assert.equal(got.endpoint, 'messages')
    assert.equal(got.key, KEY)
    assert.equal(got.messageId, '<abc.123@mg.sim.test>')
    assert.equal(got.contentType, 'application/x-www-form-urlencoded')
    assert.ok(got.at >= before && got.at <= Date.now())
    assert.deepEqual(got.fields.to, ['user@example.com', 'b@example.com, "Doe, J" <j@example.com>'])
    assert.deepEqual(got.fields['o:tag'], ['a', 'b'])
    assert.equal(got.fields.from?.[0], 'Shop <shop@mg.sim.test>')
    assert.deepEqual(got.files, [])
    assert.equal(sim.requests(), 1)
  })

  test('without h:Message-Id the id is generated in Mailgun\'s shape; the account key works for any domain', async () => {
    sim.reset()
    const res = await post(sim, { domain: OTHER, key: ACCOUNT })
    assert.equal(res.status, 200, res.text)
    assert.match(res.json().id ?? '', /^<\d{14}\.[0-9A-F]+@other\.sim\.test>$/)
    assert.equal(sim.received()[0]?.messageId, null)
    assert.equal(sim.received()[0]?.key, ACCOUNT)
  })

  test('multipart with an attachment and inline file; messages.mime with a message file', async () => {
    sim.reset()
    const form = new FormData()
    for (const [k, v] of minimal) form.append(k, v)
    form.append('to', 'second@example.com')
    form.append('attachment', new Blob([Buffer.alloc(1234, 1)], { type: 'application/pdf' }), 'invoice.pdf')
    form.append('inline', new Blob([Buffer.alloc(10)], { type: 'image/png' }), 'logo.png')
    const res = await post(sim, { body: form })
    assert.equal(res.status, 200, res.text)
    const got = sim.received()[0]
    assert.equal(got?.contentType, 'multipart/form-data')
    assert.deepEqual(got?.fields.to, ['user@example.com', 'second@example.com'])
    assert.deepEqual(got?.files, [
      { field: 'attachment', filename: 'invoice.pdf', contentType: 'application/pdf', size: 1234, sha256: sha256(Buffer.alloc(1234, 1)) },
      { field: 'inline', filename: 'logo.png', contentType: 'image/png', size: 10, sha256: sha256(Buffer.alloc(10)) }
    ])

    const mime = new FormData()
    mime.append('to', 'user@example.com')
    mime.append('message', new Blob(['From: a@b.c\r\nSubject: x\r\n\r\nbody\r\n']), 'MimeMessage')
    const sent = await post(sim, { body: mime, endpoint: 'messages.mime' })
    assert.equal(sent.status, 200, sent.text)
    assert.equal(sim.received()[1]?.endpoint, 'messages.mime')
    assert.equal(sim.received()[1]?.files[0]?.field, 'message')
    const missing = new FormData()
    missing.append('to', 'user@example.com')
    const refused = await post(sim, { body: missing, endpoint: 'messages.mime' })
    assert.equal(refused.status, 400)
    assert.deepEqual(refused.json(), { message: 'message parameter is missing' })
  })

  test('a wrong key gets 401 with the text Forbidden; another domain\'s sending key too', async () => {
    sim.reset()
    for (const key of ['wrong', OTHER_KEY]) {
      const res = await post(sim, { key })
      assert.equal(res.status, 401)
      assert.equal(res.text, 'Forbidden')
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
      assert.equal(res.headers['www-authenticate'], 'Basic realm="MG API"')
    }
    const noAuth = await request(`${sim.url}/v3/${DOMAIN}/messages`, { method: 'POST', body: 'from=a' })
    assert.equal(noAuth.statusCode, 401)
    assert.equal(await noAuth.body.text(), 'Forbidden')
    assert.equal(sim.received().length, 0)
    assert.equal(sim.requests(), 3)
  })

  test('an unknown domain gets 401 Forbidden, with the account key too (Mailgun since 2025)', async () => {
    for (const key of [ACCOUNT, KEY]) {
      const res = await post(sim, { domain: 'nope.example', key })
      assert.equal(res.status, 401)
      assert.equal(res.text, 'Forbidden')
    }
  })

  test('invalid sends get 400 with Mailgun\'s exact texts', async () => {
    sim.reset()
    const without = (name: string): Fields => minimal.filter(([k]) => k !== name)
    const cases: Array<[Fields | string, string]> = [
      [without('from'), 'from parameter is missing'],
      [without('to'), 'to parameter is missing'],
      [[...without('to'), ['to', '  ']], 'to parameter is missing'],
      [without('text'), "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"],
      [[...minimal, ['to', Array.from({ length: 1000 }, (_, i) => `u${i}@example.com`).join(',')]], 'Too many recipients, max is 1000'],
      [[...minimal, ['recipient-variables', '{nope']], "'recipient-variables' parameter is not a valid JSON"],
      ['from=a%40b.c&to=x%zz&text=t', 'unable to parse request: invalid URL escape']
    ]
    for (const [fields, message] of cases) {
      const res = await post(sim, typeof fields === 'string' ? { body: fields } : { fields })
      assert.equal(res.status, 400, message)
      assert.deepEqual(res.json(), { message })
    }
    assert.equal((await post(sim, { fields: [...without('text'), ['amp-html', '<p>x</p>']] })).status, 200)
    assert.equal((await post(sim, { fields: [...minimal, ['to', Array.from({ length: 999 }, (_, i) => `u${i}@example.com`).join(',')]] })).status, 200)
    assert.equal(sim.received().length, 2)
  })

  test('a body over 52.4 MiB gets 413', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const url = new URL(sim.url)
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`POST /v3/${DOMAIN}/messages HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(KEY)}\r\n` +
          'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000000\r\n\r\nfrom=a')
      })
      let text = ''
      socket.on('data', (c) => { text += String(c) })
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    assert.match(answer, /^HTTP\/1\.1 413 /)
    assert.match(answer, /\{"message":"request size exceeds 52\.4MiB limit"\}/)
  })

  test('a fault answers the next N matching requests, then sends go through', async () => {
    sim.reset()
    sim.addFault({ status: 503, count: 2 })
    sim.addFault({ status: 500, domain: OTHER })
    const first = await post(sim)
    assert.equal(first.status, 503)
    assert.deepEqual(first.json(), { message: 'Service Unavailable' })
    assert.equal((await post(sim)).status, 503)
    assert.equal((await post(sim)).status, 200)
    const other = await post(sim, { domain: OTHER, key: OTHER_KEY })
    assert.equal(other.status, 500)
    assert.deepEqual(other.json(), { message: 'Internal Server Error' })
    sim.clearFaults()
    assert.equal((await post(sim, { domain: OTHER, key: OTHER_KEY })).status, 200)
    assert.equal(sim.received().length, 2)
    assert.equal(sim.requests(), 5)
  })

  test('a 429 fault sends Retry-After, extra headers and Mailgun\'s rate-limit text; 401 fault is text', async () => {
    sim.reset()
    sim.addFault({ status: 429, count: 1, retryAfter: '7', headers: { 'X-RateLimit-Reset': '1700000000000' } })
    const before = Date.now()
    const res = await post(sim)
    assert.equal(res.status, 429)
    assert.equal(res.headers['retry-after'], '7')
    assert.equal(res.headers['x-ratelimit-reset'], '1700000000000')
    const m = /^Domain mg\.sim\.test is not allowed to send: request limit exceeded, try again after (.+ UTC)$/.exec(res.json().message)
    assert.ok(m, res.text)
    const after = Date.parse((m[1] ?? '').replace('UTC', 'GMT'))
    assert.ok(after >= Math.floor(before / 1000) * 1000 + 6000 && after <= Date.now() + 8000, m[1])
    sim.addFault({ status: 401, count: 1 })
    const forbidden = await post(sim)
    assert.equal(forbidden.status, 401)
    assert.equal(forbidden.text, 'Forbidden')
    sim.addFault({ status: 502, count: 1, body: '<html>bad gateway</html>' })
    const raw = await post(sim)
    assert.equal(raw.text, '<html>bad gateway</html>')
    assert.match(String(raw.headers['content-type']), /^text\/plain/)
    assert.equal(sim.received().length, 0)
  })

  test('a time-limited fault stops matching once it expires', async () => {
    sim.reset()
    sim.addFault({ status: 503, forMs: 150 })
    assert.equal((await post(sim)).status, 503)
    await until(async () => (await post(sim)).status === 200, 'the fault to expire')
    assert.equal(sim.received().length, 1)
  })

  test('a dropped connection is a socket error at the client; the next send works', async () => {
    sim.reset()
    sim.setDropConnections(1)
    await assert.rejects(post(sim), (err: Error & { code?: string }) => {
      assert.ok(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(err.code ?? ''), `${err.code}: ${err.message}`)
      return true
    })
    assert.equal((await post(sim)).status, 200)
    assert.equal(sim.requests(), 2)
    assert.equal(sim.received().length, 1)
  })

  test('the Date header can be fixed and released; the delay holds answers', async () => {
    sim.reset()
    sim.setDateHeader('Thu, 13 Oct 2011 18:02:00 +0000')
    assert.equal((await post(sim)).headers.date, 'Thu, 13 Oct 2011 18:02:00 +0000')
    sim.setDateHeader(null)
    assert.notEqual((await post(sim)).headers.date, 'Thu, 13 Oct 2011 18:02:00 +0000')
    sim.setDelay(120)
    const t0 = Date.now()
    assert.equal((await post(sim)).status, 200)
    assert.ok(Date.now() - t0 >= 100)
    sim.reset()
    const t1 = Date.now()
    await post(sim)
    assert.ok(Date.now() - t1 < 100, 'reset clears the delay')
  })

  test('control routes over HTTP drive and read the simulator', async () => {
    const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
      const res = await request(`${sim.url}${path}`, {
        method,
        ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {})
      })
      return { status: res.statusCode, body: await res.body.json() as unknown }
    }
    assert.equal((await call('DELETE', '/sim/received')).status, 200)
    assert.deepEqual((await call('GET', '/sim/stats')).body, { received: 0, requests: 0, eventsRequests: 0 })
    assert.equal((await call('POST', '/sim/faults', { status: 429, count: 1, retryAfter: '1' })).status, 200)
    assert.equal((await post(sim)).status, 429)
    assert.equal((await call('POST', '/sim/faults', { status: 503 })).status, 200)
    assert.equal((await post(sim)).status, 503)
    assert.equal((await call('DELETE', '/sim/faults')).status, 200)
    assert.equal((await call('POST', '/sim/date', { value: 'Mon, 10 May 2021 09:12:52 GMT' })).status, 200)
    assert.equal((await post(sim, { fields: [...minimal, ['h:Message-Id', '<ctl@mg.sim.test>']] })).headers.date, 'Mon, 10 May 2021 09:12:52 GMT')
    assert.equal((await call('POST', '/sim/date', { value: null })).status, 200)
    assert.equal((await call('POST', '/sim/drop', { count: 1 })).status, 200)
    await assert.rejects(post(sim))
    assert.equal((await call('POST', '/sim/delay', { ms: 0 })).status, 200)
    assert.deepEqual((await call('GET', '/sim/stats')).body, { received: 1, requests: 4, eventsRequests: 0 })
    const rows = (await call('GET', '/sim/received')).body as Array<Record<string, unknown>>
    assert.equal(rows.length, 1)
    assert.equal(rows[0]?.messageId, '<ctl@mg.sim.test>')
    assert.equal(rows[0]?.key, KEY)
    assert.equal((await call('POST', '/sim/faults', { status: 'x' })).status, 400)
    assert.equal((await call('POST', '/sim/delay', { ms: -1 })).status, 400)
    assert.equal((await call('GET', '/sim/nope')).status, 404)
    assert.equal((await call('POST', '/sim/__proto__', {})).status, 404)
  })

  test('control routes drive the Events API switches and list its reads', async () => {
    const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const res = await request(`${sim.url}${path}`, {
        method,
        ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {})
      })
      return { status: res.statusCode, body: await res.body.json() as unknown }
    }
    sim.reset()
    assert.equal((await call('POST', '/sim/event-delay', { ms: 60_000 })).status, 200)
    assert.equal((await post(sim, { fields: [...minimal, ['h:Message-Id', '<late@mg.sim.test>']] })).status, 200)
    assert.deepEqual((await events(sim, '?message-id=late@mg.sim.test')).json().items, [], 'not visible yet')
    assert.equal((await call('POST', '/sim/event-delay', { ms: 0 })).status, 200)
    assert.equal((await call('POST', '/sim/faults', { status: 503, api: 'events', count: 1 })).status, 200)
    assert.equal((await events(sim, '?message-id=late@mg.sim.test')).status, 503)
    assert.equal((await call('POST', '/sim/delay', { ms: 150, api: 'events' })).status, 200)
    const t0 = Date.now()
    assert.equal((await events(sim, '?message-id=late@mg.sim.test', { key: KEY })).status, 401)
    assert.ok(Date.now() - t0 >= 120, 'the events delay holds Events API answers')
    assert.equal((await call('POST', '/sim/delay', { ms: 0, api: 'events' })).status, 200)
    assert.equal((await call('POST', '/sim/drop-after-accept', { count: 1 })).status, 200)
    await assert.rejects(post(sim))
    assert.deepEqual((await call('GET', '/sim/stats')).body, { received: 2, requests: 2, eventsRequests: 3 })
    const reads = (await call('GET', '/sim/events-requests')).body as Array<Record<string, unknown>>
    assert.deepEqual(reads.map((r) => [r.domain, r.key, r.status]), [[DOMAIN, ACCOUNT, 200], [DOMAIN, ACCOUNT, 503], [DOMAIN, KEY, 401]])
    assert.equal((await call('POST', '/sim/loose-message-id', { on: true })).status, 200)
    assert.equal((await events(sim, '?message-id=nobody@mg.sim.test')).json().items.length, 2, 'the visible events of the domain: the dropped send\'s')
    assert.equal((await call('POST', '/sim/loose-message-id', { on: false })).status, 200)
    assert.equal((await events(sim, '?message-id=nobody@mg.sim.test')).json().items.length, 0)
    for (const [path, body] of [['/sim/loose-message-id', { on: 'yes' }], ['/sim/event-delay', { ms: -1 }], ['/sim/drop-after-accept', { count: 1.5 }], ['/sim/delay', { ms: 1, api: 'logs' }], ['/sim/faults', { status: 503, api: 'logs' }]] as const) {
      assert.equal((await call('POST', path, body)).status, 400, path)
    }
  })
})

describe('mailgun simulator: Events API', () => {
  let sim: Simulator
  before(async () => {
    sim = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }, { name: OTHER, sendingKey: OTHER_KEY }], accountKey: ACCOUNT })
  })
  after(async () => { await sim.close() })

  const send = async (messageId: string, extra: Fields = [], domain = DOMAIN): Promise<void> => {
    const res = await post(sim, { domain, key: domain === DOMAIN ? KEY : OTHER_KEY, fields: [...minimal, ['h:Message-Id', messageId], ...extra] })
    assert.equal(res.status, 200, res.text)
  }

  test('an accepted send logs one accepted and one delivered event per recipient, in Mailgun\'s shape', async () => {
    sim.reset()
    const before = Date.now()
    await send('<abc.1@mg.sim.test>', [['to', 'b@example.com, "Doe, J" <J@Example.com>'], ['cc', 'c@example.com'], ['bcc', 'user@example.com'],
      ['o:tag', 'welcome'], ['v:order', '42'], ['o:testmode', 'yes']])
    await send('<other.1@mg.sim.test>')
    const res = await events(sim, '?message-id=abc.1@mg.sim.test&event=accepted')
    assert.equal(res.status, 200, res.text)
    assert.match(String(res.headers['content-type']), /^application\/json/)
    const page = res.json()
    assert.deepEqual(page.items.map((e) => e.recipient).sort(), ['J@Example.com', 'b@example.com', 'c@example.com', 'user@example.com'])
    const item = page.items.find((e) => e.recipient === 'J@Example.com')
    assert.ok(item)
    assert.equal(item.event, 'accepted')
    assert.match(item.id, /^[A-Za-z0-9_-]{22}$/)
    assert.ok(item.timestamp * 1000 >= before - 1 && item.timestamp * 1000 <= Date.now() + 1, String(item.timestamp))
    assert.equal(item['recipient-domain'], 'example.com')
    assert.equal(item.envelope.targets, 'J@Example.com')
    assert.deepEqual(item.message.headers, { to: 'user@example.com, b@example.com, "Doe, J" <J@Example.com>', 'message-id': 'abc.1@mg.sim.test', from: 'Shop <shop@mg.sim.test>', subject: 'Hi' })
    assert.equal(item.flags['is-test-mode'], true)
    assert.deepEqual(item.tags, ['welcome'])
    assert.deepEqual(item['user-variables'], { order: '42' })
    assert.equal(new Set(page.items.map((e) => e.id)).size, 4, 'ids are unique')
    for (const url of Object.values(page.paging)) assert.ok(url.startsWith(`${sim.url}/v3/${DOMAIN}/events/`), url)
    assert.deepEqual((await events(sim, page.paging.next)).json().items, [], 'next after the last page is empty')
    const both = (await events(sim, '?message-id=abc.1@mg.sim.test')).json().items
    assert.deepEqual(both.map((e) => e.event).sort(), [...Array(4).fill('accepted'), ...Array(4).fill('delivered')])
    const delivered = (await events(sim, '?message-id=abc.1@mg.sim.test&event=delivered&recipient=c@example.com')).json().items
    assert.equal(delivered.length, 1)
    assert.equal((delivered[0] as unknown as { 'delivery-status': { code: number } })['delivery-status'].code, 650, 'test mode')
    assert.equal((await events(sim, '?message-id=abc.1@mg.sim.test&event=accepted OR delivered')).json().items.length, 8)
    assert.deepEqual((await events(sim, '?message-id=abc.1@mg.sim.test', { domain: OTHER })).json().items, [], 'events belong to their domain')
    assert.equal(sim.requests(), 2, 'Events API reads are not sends')
  })

  test('only the account key reads events: a sending key gets Mailgun\'s 401 Forbidden, like a wrong key; each read is counted with its key', async () => {
    sim.reset()
    await send('<k.1@mg.sim.test>')
    for (const key of [KEY, OTHER_KEY, 'wrong', null]) {
      const res = await events(sim, '?message-id=k.1@mg.sim.test', { key })
      assert.equal(res.status, 401, String(key))
      assert.equal(res.text, 'Forbidden')
      assert.equal(res.headers['www-authenticate'], 'Basic realm="MG API"')
    }
    assert.equal((await events(sim, '?message-id=k.1@mg.sim.test', { domain: 'nope.example' })).status, 401, 'a domain not on the account')
    assert.equal((await events(sim, '?message-id=k.1@mg.sim.test')).json().items.length, 2)
    assert.deepEqual(sim.eventsRequests().map((r) => [r.key, r.status]),
      [[KEY, 401], [OTHER_KEY, 401], ['wrong', 401], [null, 401], [ACCOUNT, 401], [ACCOUNT, 200]])
    assert.ok(sim.eventsRequests().every((r) => typeof r.at === 'number'))
    const noAccount = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }] })
    try {
      assert.equal((await events(noAccount, '?event=accepted', { key: KEY })).status, 401, 'no account key: nobody reads events')
    } finally { await noAccount.close() }
  })

  test('events show only after the event delay; reset() returns to the eventDelayMs option', async () => {
    const slow = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }], accountKey: ACCOUNT, eventDelayMs: 250 })
    try {
      const sentAt = Date.now()
      const sent = await post(slow, { fields: [...minimal, ['h:Message-Id', '<slow.1@mg.sim.test>']] })
      assert.equal(sent.status, 200)
      assert.deepEqual((await events(slow, '?message-id=slow.1@mg.sim.test&event=accepted')).json().items, [])
      await until(async () => (await events(slow, '?message-id=slow.1@mg.sim.test&event=accepted')).json().items.length === 1, 'the event to show')
      assert.ok(Date.now() - sentAt >= 250, 'not before the delay')
      slow.setEventDelay(0)
      slow.reset()
      assert.equal((await post(slow, { fields: [...minimal, ['h:Message-Id', '<slow.2@mg.sim.test>']] })).status, 200)
      assert.deepEqual((await events(slow, '?message-id=slow.2@mg.sim.test')).json().items, [], 'the delay is back to 250 ms')
    } finally { await slow.close() }
  })

  test('pages: limit, newest first by default, next until an empty page, previous, first, last, ascending', async () => {
    sim.reset()
    const begin = Date.now() / 1000
    for (let i = 1; i <= 5; i++) await send(`<p.${i}@mg.sim.test>`)
    assert.deepEqual((await listAll(sim, '?event=accepted&limit=2')).map(idsOf),
      [['p.5@mg.sim.test', 'p.4@mg.sim.test'], ['p.3@mg.sim.test', 'p.2@mg.sim.test'], ['p.1@mg.sim.test'], []])
    assert.deepEqual((await listAll(sim, `?event=accepted&limit=2&ascending=yes&begin=${begin - 1}`)).map(idsOf),
      [['p.1@mg.sim.test', 'p.2@mg.sim.test'], ['p.3@mg.sim.test', 'p.4@mg.sim.test'], ['p.5@mg.sim.test'], []])
    const first = (await events(sim, '?event=accepted&limit=2')).json()
    const second = (await events(sim, first.paging.next)).json()
    assert.deepEqual(idsOf((await events(sim, second.paging.previous)).json().items), ['p.5@mg.sim.test', 'p.4@mg.sim.test'])
    assert.deepEqual((await events(sim, first.paging.previous)).json().items, [], 'before the first page: empty')
    assert.deepEqual(idsOf((await events(sim, second.paging.first)).json().items), ['p.5@mg.sim.test', 'p.4@mg.sim.test'])
    assert.deepEqual(idsOf((await events(sim, second.paging.last)).json().items), ['p.2@mg.sim.test', 'p.1@mg.sim.test'])
    // ascending without an end goes on: a later event shows on the next page after the empty one
    const tail = (await listAll(sim, `?event=accepted&ascending=yes&begin=${begin - 1}`))
    assert.equal(tail.length, 2)
    let page = (await events(sim, `?event=accepted&ascending=yes&begin=${begin - 1}`)).json()
    page = (await events(sim, page.paging.next)).json()
    assert.deepEqual(page.items, [])
    await send('<p.6@mg.sim.test>')
    assert.deepEqual(idsOf((await events(sim, page.paging.next)).json().items), ['p.6@mg.sim.test'])
    assert.deepEqual((await events(sim, '?event=accepted&ascending=yes')).json().items, [], 'begin defaults to now')
    assert.equal((await events(sim, '?event=accepted')).json().items.length, 6, 'limit defaults to 100')
    assert.equal((await events(sim, `?event=accepted&begin=${begin - 1}&end=${begin + 3600}`)).json().items[0]?.message.headers['message-id'], 'p.1@mg.sim.test', 'end after begin: ascending')
  })

  test('bad queries get 400 naming the parameter; paging URLs follow Host or publicUrl', async () => {
    sim.reset()
    for (const [query, words] of [['?limit=301', /limit/], ['?limit=0', /limit/], ['?begin=yesterday', /begin/], ['?ascending=maybe', /ascending/],
      ['?begin=10&end=5&ascending=yes', /ascending/], ['?subject=Hi', /subject/], ['?event=NOT accepted', /event/]] as const) {
      const res = await events(sim, query)
      assert.equal(res.status, 400, query)
      assert.match((JSON.parse(res.text) as { message: string }).message, words, query)
    }
    assert.equal((await events(sim, `${sim.url}/v3/${DOMAIN}/events/bm90LWEtdG9rZW4`)).status, 400, 'not a token of ours')
    assert.equal((await events(sim, '?limit=300')).status, 200)
    const res = await request(`${sim.url}/v3/${DOMAIN}/events?event=accepted`, { headers: { authorization: basic(ACCOUNT), host: 'mailgun-sim:8025' } })
    assert.match(((await res.body.json()) as EventsAnswer).paging.next, /^http:\/\/mailgun-sim:8025\/v3\/mg\.sim\.test\/events\//)
    const behind = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }], accountKey: ACCOUNT, publicUrl: 'https://api.example.test/' })
    try {
      assert.match((await events(behind, '?event=accepted')).json().paging.next, /^https:\/\/api\.example\.test\/v3\/mg\.sim\.test\/events\//)
    } finally { await behind.close() }
  })

  test('a message-id in angle brackets filters nothing, as Mailgun\'s did (mailgun.js#296)', async () => {
    sim.reset()
    await send('<b.1@mg.sim.test>')
    await send('<b.2@mg.sim.test>')
    assert.deepEqual(idsOf((await events(sim, '?event=accepted&message-id=b.1@mg.sim.test')).json().items), ['b.1@mg.sim.test'])
    assert.deepEqual(idsOf((await events(sim, `?event=accepted&message-id=${encodeURIComponent('<b.1@mg.sim.test>')}`)).json().items),
      ['b.2@mg.sim.test', 'b.1@mg.sim.test'])
    sim.setLooseMessageIdFilter(true)
    assert.deepEqual(idsOf((await events(sim, '?event=accepted&message-id=b.1@mg.sim.test')).json().items), ['b.2@mg.sim.test', 'b.1@mg.sim.test'], 'loose filter')
    sim.reset()
    await send('<b.3@mg.sim.test>')
    await send('<b.4@mg.sim.test>')
    assert.deepEqual(idsOf((await events(sim, '?event=accepted&message-id=b.3@mg.sim.test')).json().items), ['b.3@mg.sim.test'], 'reset: exact again')
  })

  test('drop after accept: the message is received and its event logged, but the client gets no answer', async () => {
    sim.reset()
    sim.setDropAfterAccept(1)
    await assert.rejects(post(sim, { fields: [...minimal, ['h:Message-Id', '<lost.1@mg.sim.test>']] }), (err: Error & { code?: string }) => {
      assert.ok(['UND_ERR_SOCKET', 'ECONNRESET'].includes(err.code ?? ''), `${err.code}: ${err.message}`)
      return true
    })
    assert.equal(sim.received()[0]?.messageId, '<lost.1@mg.sim.test>')
    assert.equal((await events(sim, '?event=accepted&message-id=lost.1@mg.sim.test')).json().items.length, 1)
    assert.equal((await post(sim)).status, 200, 'the next send is answered')
    assert.equal(sim.received().length, 2)
  })

  test('drop before acceptance: nothing received, no event', async () => {
    sim.reset()
    sim.setDropConnections(1)
    await assert.rejects(post(sim, { fields: [...minimal, ['h:Message-Id', '<never.1@mg.sim.test>']] }))
    assert.equal(sim.received().length, 0)
    assert.deepEqual((await events(sim, '?message-id=never.1@mg.sim.test')).json().items, [])
  })

  test('the delay switch answers late but records the message and its event first', async () => {
    sim.reset()
    sim.setDelay(400)
    const late = request(`${sim.url}/v3/${DOMAIN}/messages`, {
      method: 'POST',
      headers: { authorization: basic(KEY), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([...minimal, ['h:Message-Id', '<slowanswer.1@mg.sim.test>']]).toString(),
      signal: AbortSignal.timeout(100) // the client gives up before the answer comes
    })
    await assert.rejects(late)
    assert.equal(sim.received()[0]?.messageId, '<slowanswer.1@mg.sim.test>')
    assert.equal((await events(sim, '?event=accepted&message-id=slowanswer.1@mg.sim.test')).json().items.length, 1, 'Events API reads are not delayed by it')
    sim.setDelay(0)
  })

  test('an events fault answers Events API reads only; sends go on', async () => {
    sim.reset()
    sim.addFault({ status: 500, api: 'events', count: 1 })
    sim.addFault({ status: 429, api: 'events', domain: OTHER, count: 1, retryAfter: '3' })
    await send('<f.1@mg.sim.test>')
    const failed = await events(sim, '?message-id=f.1@mg.sim.test')
    assert.equal(failed.status, 500)
    assert.deepEqual(JSON.parse(failed.text), { message: 'Internal Server Error' })
    const limited = await events(sim, '?event=accepted', { domain: OTHER })
    assert.equal(limited.status, 429)
    assert.equal(limited.headers['retry-after'], '3')
    assert.equal((await events(sim, '?message-id=f.1@mg.sim.test')).status, 200)
  })
})

describe('mailgun simulator (fast mode)', () => {
  let sim: Simulator
  before(async () => { sim = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }], accountKey: ACCOUNT, mode: 'fast' }) })
  after(async () => { await sim.close() })

  test('records only the arrival, domain, key and messageId; still checks the send', async () => {
    const res = await post(sim, { fields: [...minimal, ['h:message-id', '<fast.1@mg.sim.test>']] })
    assert.equal(res.status, 200, res.text)
    assert.equal(res.json().id, '<fast.1@mg.sim.test>')
    const got = sim.received()[0]
    assert.equal(got?.messageId, '<fast.1@mg.sim.test>')
    assert.equal(got?.key, KEY)
    assert.deepEqual(got?.fields, {})
    assert.deepEqual(got?.files, [])
    const bad = await post(sim, { fields: minimal.filter(([k]) => k !== 'from') })
    assert.deepEqual(bad.json(), { message: 'from parameter is missing' })
    const blank = await post(sim, { body: 'from=a%40b.c&to=+%20&text=t' })
    assert.deepEqual(blank.json(), { message: 'to parameter is missing' })
    assert.equal(sim.received().length, 1)
    assert.deepEqual((await events(sim, '?message-id=fast.1@mg.sim.test')).json().items, [], 'fast mode logs no events')
  })
})

test('close() does not wait for idle keep-alive sockets', async () => {
  const sim = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }] })
  assert.equal((await post(sim)).status, 200) // undici keeps this socket open
  const closed = await Promise.race([sim.close().then(() => true), sleep(2000).then(() => false)])
  assert.ok(closed, 'close() finished')
  await sim.close() // idempotent
})
