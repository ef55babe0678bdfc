/**
 * A stand-in for Mailgun's sending API and its Events API over real HTTP, for tests, sandbox
 * mode, docker compose and the benchmark. It imports nothing of mailqueue's, so it stays an honest
 * stand-in; its answers follow shared/reference/mailgun-api.md (bodies, 401 `Forbidden` as text,
 * Message-Id echo) and Mailgun's Events API documentation (events.ts).
 *
 * Sends (`POST /v3/:domain/messages`, `/v3/:domain/messages.mime`) are checked in this order:
 * drop switch → Basic auth and domain known (401) → size (413) → body parse (400) → faults →
 * Mailgun's field checks (400) → accepted: recorded in `received()` and logged as events → the
 * drop-after-accept switch (no answer at all) or 200. The delay switch holds every answer, the
 * 200 included, after the send was recorded: a client that gives up waiting has still had its
 * message accepted, as with a Mailgun answer lost on the way.
 *
 * Events API reads (`GET /v3/:domain/events`, and the paging URLs it returns) take only the
 * account key (`accountKey`), as Mailgun's sending keys are only for the two send endpoints; any
 * other key, a domain not on the account, or no account key configured gets 401 `Forbidden`.
 * Then faults with `api: 'events'`, then the page, held by the events delay switch. Every read is
 * counted with the key it came with (`eventsRequests()`); they are not in `requests()`.
 * Fast mode logs no events (they would cost the benchmark a record per recipient).
 *
 * Control routes under `/sim/` (control.ts) need no auth (loopback only).
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { handleControl } from './control.js'
import { acceptedSend, decodeToken, EventLog, parseQuery } from './events.js'
import { faultAnswer, FORBIDDEN, jsonAnswer, Switches, type Answer } from './faults.js'
import { fieldCi, FormError, invalid, MAX_REQUEST_BYTES, readForm, tooLarge, valueOf, type FileInfo } from './form.js'

import type { EventsRequest, ReceivedMessage, Simulator, SimulatorOptions } from './types.js'

export type { Api, FaultSpec } from './faults.js'
export type { EventsRequest, ReceivedMessage, SimDomain, Simulator, SimulatorOptions } from './types.js'

const SEND_PATH = /^\/v3\/([^/]+)\/(messages|messages\.mime)$/
const EVENTS_PATH = /^\/v3\/([^/]+)\/events(?:\/([A-Za-z0-9_-]+))?$/
const NOT_FOUND: Answer = { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '404 page not found' }
const NO_FIELDS: Record<string, string[]> = Object.freeze({}) as Record<string, string[]>
const NO_FILES: FileInfo[] = Object.freeze([]) as unknown as FileInfo[]

/** The password of `Basic base64("api:" + key)`, or null. */
function keyOf (header: string | undefined): string | null {
  if (header === undefined || header.length < 7 || header.slice(0, 6).toLowerCase() !== 'basic ') return null
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  return decoded.startsWith('api:') ? decoded.slice(4) : null
}

/** The three request headers a send needs, read from rawHeaders (cheaper than building req.headers). */
function sendHeaders (raw: string[]): { authorization: string | undefined, contentType: string | undefined, contentLength: string | undefined } {
  let authorization: string | undefined
  let contentType: string | undefined
  let contentLength: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 13 && authorization === undefined && name.toLowerCase() === 'authorization') authorization = raw[i + 1]
    else if (name.length === 12 && contentType === undefined && name.toLowerCase() === 'content-type') contentType = raw[i + 1]
    else if (name.length === 14 && contentLength === undefined && name.toLowerCase() === 'content-length') contentLength = raw[i + 1]
  }
  return { authorization, contentType, contentLength }
}

function flush (res: ServerResponse, status: number, headers: string[], body: string): void {
  if (res.destroyed || res.headersSent) return
  res.writeHead(status, headers)
  res.end(body)
}

/** A copy that does not keep the request body alive (V8 slices point into their parent string). */
function flat (s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8')
}

/** `<YYYYMMDDhhmmss.random@domain>`, the shape of Mailgun's own ids. */
function generatedId (now: number, domain: string): string {
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14)
  return `<${stamp}.${randomBytes(8).toString('hex').toUpperCase()}@${domain}>`
}

export async function startSimulator (opts: SimulatorOptions): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1'
  const keys = new Map(opts.domains.map((d) => [d.name.toLowerCase(), d.sendingKey]))
  const accountKey = opts.accountKey
  const fast = opts.mode === 'fast'
  const sw = new Switches(opts.eventDelayMs ?? 0)
  const timers = new Set<NodeJS.Timeout>()
  const events = new EventLog()
  let received: ReceivedMessage[] = []
  let requests = 0
  let eventsRequests: EventsRequest[] = []

  function answer (res: ServerResponse, a: Answer, close = false, delayMs = sw.delayMs): void {
    const headers: string[] = []
    for (const name in a.headers) headers.push(name, a.headers[name] as string)
    write(res, a.status, headers, a.body, close, delayMs)
  }

  /** Writes an answer after `delayMs` (the send delay switch by default); `close` ends the connection (unread body). */
  function write (res: ServerResponse, status: number, headers: string[], body: string, close = false, delayMs = sw.delayMs): void {
    headers.push('content-length', String(Buffer.byteLength(body)))
    if (sw.date !== null) headers.push('date', sw.date)
    if (close) headers.push('connection', 'close')
    if (delayMs <= 0) return flush(res, status, headers, body)
    const t = setTimeout(function () { timers.delete(t); flush(res, status, headers, body) }, delayMs)
    timers.add(t)
  }

  /** The key of an Authorization header, cached: a sender repeats the same few headers. */
  const keyCache = new Map<string, string | null>()
  function cachedKey (header: string | undefined): string | null {
    if (header === undefined) return null
    let key = keyCache.get(header)
    if (key === undefined) {
      if (keyCache.size >= 256) keyCache.clear()
      key = keyOf(header)
      keyCache.set(header, key)
    }
    return key
  }

  function send (req: IncomingMessage, res: ServerResponse, path: string): void {
    const at = Date.now()
    requests += 1
    const match = req.method === 'POST' ? SEND_PATH.exec(path) : null
    if (match === null) { req.resume(); return answer(res, NOT_FOUND) }
    if (sw.dropNext > 0) {
      sw.dropNext -= 1
      req.socket.destroy()
      return
    }
    let domain: string
    try { domain = decodeURIComponent(match[1] as string).toLowerCase() } catch { req.resume(); return answer(res, NOT_FOUND) }
    const endpoint = match[2] as ReceivedMessage['endpoint']
    const h = sendHeaders(req.rawHeaders)
    const key = cachedKey(h.authorization)
    const domainKey = keys.get(domain)
    const isAccount = accountKey !== undefined && key === accountKey
    // A domain not on the account is refused like a wrong key, as Mailgun does since about 2025
    // (it used to be 404 `Domain not found`): reference mailgun-api.md §3, "Documented error messages".
    if (key === null || domainKey === undefined || (!isAccount && key !== domainKey)) { req.resume(); return answer(res, FORBIDDEN) }
    if (h.contentLength !== undefined && Number(h.contentLength) > MAX_REQUEST_BYTES) return answer(res, toAnswer(tooLarge()), true)
    readForm(req, h.contentType, fast, function (err, form) {
      if (err !== null || form === null) return answer(res, toAnswer(err), !req.complete)
      const now = Date.now()
      const fault = sw.take(domain, now)
      if (fault) return answer(res, faultAnswer(fault, domain, now))
      let problem: string | null
      let messageId: string | null
      try {
        problem = invalid(endpoint, form)
        const sent = fieldCi(form.fields, 'h:message-id')
        messageId = sent === undefined ? null : flat(valueOf(form, sent).trim()) || null
      } catch (e) {
        return answer(res, toAnswer(e), false)
      }
      if (problem !== null) return answer(res, jsonAnswer(400, problem))
      received.push({
        at, domain, endpoint, key, messageId,
        fields: fast ? NO_FIELDS : form.fields,
        files: fast ? NO_FILES : form.files,
        contentType: form.contentType
      })
      const id = messageId ?? generatedId(now, domain)
      if (!fast) events.record(acceptedSend(domain, id, now, endpoint, form, Number(h.contentLength) || 0), now + sw.eventDelayMs)
      if (sw.dropAfterAccept > 0) {
        sw.dropAfterAccept -= 1
        req.socket.destroy()
        return
      }
      write(res, 200, ['content-type', 'application/json; charset=utf-8'], '{"id":' + JSON.stringify(id) + ',"message":"Queued. Thank you."}')
    })
  }

  /** An Events API read: the first page of a query, or a paging URL (`token`). */
  function readEvents (req: IncomingMessage, res: ServerResponse, url: string, match: RegExpExecArray): void {
    req.resume()
    const now = Date.now()
    let domain = ''
    try { domain = decodeURIComponent(match[1] as string).toLowerCase() } catch {}
    const key = keyOf(req.headers.authorization)
    const done = (a: Answer): void => {
      eventsRequests.push({ at: now, domain, key, status: a.status })
      answer(res, a, false, sw.eventsDelayMs)
    }
    if (req.method !== 'GET') return done(NOT_FOUND)
    if (accountKey === undefined || key !== accountKey || !keys.has(domain)) return done(FORBIDDEN)
    const fault = sw.take(domain, now, 'events')
    if (fault) return done(faultAnswer(fault, domain, now))
    const token = match[2]
    const q = url.indexOf('?')
    const paged = token === undefined ? null : decodeToken(token)
    if (token !== undefined && paged === null) return done(jsonAnswer(400, 'invalid paging token'))
    let query = paged?.q ?? parseQuery(new URLSearchParams(q === -1 ? '' : url.slice(q + 1)), now)
    if (typeof query === 'string') return done(jsonAnswer(400, query))
    if (paged === null && sw.looseMessageIdFilter) query = { ...query, messageId: null }
    const host = req.headers.host
    const base = opts.publicUrl?.replace(/\/+$/, '') ?? (host !== undefined && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `http://${host}` : sim.url)
    const page = events.page(domain, query, paged?.c ?? null, now, base)
    done({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(page) })
  }

  function toAnswer (err: unknown): Answer {
    if (err instanceof FormError) return jsonAnswer(err.status, err.message)
    return jsonAnswer(500, 'Internal Server Error')
  }

  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    if (path.startsWith('/v3/')) {
      const read = EVENTS_PATH.exec(path)
      return read === null ? send(req, res, path) : readEvents(req, res, url, read)
    }
    if (path.startsWith('/sim/')) return handleControl(req, res, path, sim)
    req.resume()
    answer(res, NOT_FOUND)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve() })
  })
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  let closing: Promise<void> | null = null

  const sim: Simulator = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    received: () => received.slice(),
    requests: () => requests,
    eventsRequests: () => eventsRequests.slice(),
    stats: () => ({ received: received.length, requests, eventsRequests: eventsRequests.length }),
    reset () {
      received = []
      requests = 0
      eventsRequests = []
      events.clear()
      sw.clearAll()
    },
    addFault: (f) => sw.addFault(f, Date.now()),
    clearFaults: () => sw.clearFaults(),
    setDelay: (ms, api = 'messages') => {
      if (api === 'events') sw.eventsDelayMs = ms
      else sw.delayMs = ms
    },
    setDropConnections: (n) => { sw.dropNext = n },
    setDropAfterAccept: (n) => { sw.dropAfterAccept = n },
    setEventDelay: (ms) => { sw.eventDelayMs = ms },
    setLooseMessageIdFilter: (on) => { sw.looseMessageIdFilter = on },
    setDateHeader: (value) => { sw.date = value },
    close () {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t)
        timers.clear()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    }
  }
  return sim
}
