/**
 * A stand-in for Mailgun's sending API over real HTTP, for tests, sandbox mode, docker compose and
 * the benchmark. It imports nothing of mailqueue's, so it stays an honest stand-in; its answers
 * follow shared/reference/mailgun-api.md (bodies, 401 `Forbidden` as text, Message-Id echo).
 *
 * Sends (`POST /v3/:domain/messages`, `/v3/:domain/messages.mime`) are checked in this order:
 * drop switch → Basic auth and domain known (401) → size (413) → body parse (400) → faults →
 * Mailgun's field checks (400) → 200. The delay switch holds every answer to a send.
 * Control routes under `/sim/` need no auth (loopback only).
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { faultAnswer, faultProblem, FORBIDDEN, jsonAnswer, Switches, type Answer, type FaultSpec } from './faults.js'
import { fieldCi, FormError, invalid, MAX_REQUEST_BYTES, readForm, tooLarge, valueOf, type FileInfo } from './form.js'

export type { FaultSpec } from './faults.js'

export interface SimDomain { name: string, sendingKey: string }

export interface SimulatorOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  domains: SimDomain[]
  /** A primary key accepted for every domain. */
  accountKey?: string
  /** fast: keeps only what a benchmark needs (no fields, no files). Default full. */
  mode?: 'full' | 'fast'
}

export interface ReceivedMessage {
  /** Date.now() at arrival. */
  at: number
  /** Lower-cased, as in the URL. */
  domain: string
  endpoint: 'messages' | 'messages.mime'
  /** The password of the Basic auth that was accepted. */
  key: string
  /** The h:Message-Id field as sent (any letter case of the name), or null. */
  messageId: string | null
  /** Every non-file field, repeated fields in order ({} in fast mode). */
  fields: Record<string, string[]>
  /** attachment / inline / message files ([] in fast mode). */
  files: FileInfo[]
  /** 'multipart/form-data' | 'application/x-www-form-urlencoded' */
  contentType: string
}

export interface Simulator {
  /** 'http://127.0.0.1:PORT' */
  url: string
  /** Accepted (2xx) messages only, in arrival order (a copy). */
  received(): ReceivedMessage[]
  /** Every /v3 request that reached the server, any outcome. */
  requests(): number
  /** Clears received and the request count, and every switch: faults, delay, drops, Date override. */
  reset(): void
  /** Faults are checked in the order added. */
  addFault(f: FaultSpec): void
  /** Clears faults only (delay, drops and Date override stay). */
  clearFaults(): void
  /** Delay before answering every send, in milliseconds. */
  setDelay(ms: number): void
  /** Destroys the socket of the next n sends without answering. */
  setDropConnections(n: number): void
  /** The Date header to send; null: the real current date (IMF-fixdate). */
  setDateHeader(value: string | null): void
  /** Closes the server and every keep-alive socket; idempotent. */
  close(): Promise<void>
}

const SEND_PATH = /^\/v3\/([^/]+)\/(messages|messages\.mime)$/
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

function readJson (req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { text += c })
    req.once('error', reject)
    req.once('end', () => {
      try { resolve(text.trim() ? JSON.parse(text) : {}) } catch { reject(new Error('the body is not JSON')) }
    })
  })
}

export async function startSimulator (opts: SimulatorOptions): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1'
  const keys = new Map(opts.domains.map((d) => [d.name.toLowerCase(), d.sendingKey]))
  const accountKey = opts.accountKey
  const fast = opts.mode === 'fast'
  const sw = new Switches()
  const timers = new Set<NodeJS.Timeout>()
  let received: ReceivedMessage[] = []
  let requests = 0

  function answer (res: ServerResponse, a: Answer, close = false): void {
    const headers: string[] = []
    for (const name in a.headers) headers.push(name, a.headers[name] as string)
    write(res, a.status, headers, a.body, close)
  }

  /** Writes an answer to a send, after the delay switch; `close` ends the connection (unread body). */
  function write (res: ServerResponse, status: number, headers: string[], body: string, close = false): void {
    headers.push('content-length', String(Buffer.byteLength(body)))
    if (sw.date !== null) headers.push('date', sw.date)
    if (close) headers.push('connection', 'close')
    if (sw.delayMs <= 0) return flush(res, status, headers, body)
    const t = setTimeout(function () { timers.delete(t); flush(res, status, headers, body) }, sw.delayMs)
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
      write(res, 200, ['content-type', 'application/json; charset=utf-8'], '{"id":' + JSON.stringify(id) + ',"message":"Queued. Thank you."}')
    })
  }

  function toAnswer (err: unknown): Answer {
    if (err instanceof FormError) return jsonAnswer(err.status, err.message)
    return jsonAnswer(500, 'Internal Server Error')
  }

  function reply (res: ServerResponse, status: number, value: unknown): void {
    const body = JSON.stringify(value)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }

  async function control (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method ?? ''} ${path}`
    if (req.method === 'GET' || req.method === 'DELETE') req.resume()
    if (route === 'GET /sim/received') return reply(res, 200, received)
    if (route === 'GET /sim/stats') return reply(res, 200, { received: received.length, requests })
    if (route === 'DELETE /sim/received') { sim.reset(); return reply(res, 200, { ok: true }) }
    if (route === 'DELETE /sim/faults') { sw.clearFaults(); return reply(res, 200, { ok: true }) }
    if (req.method !== 'POST' || !['/sim/faults', '/sim/delay', '/sim/drop', '/sim/date'].includes(path)) {
      req.resume()
      return reply(res, 404, { message: `unknown control route: ${route}` })
    }
    let body: Record<string, unknown>
    try {
      const parsed = await readJson(req)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the body is not a JSON object')
      body = parsed as Record<string, unknown>
    } catch (err) {
      return reply(res, 400, { message: (err as Error).message })
    }
    if (path === '/sim/faults') {
      const problem = faultProblem(body)
      if (problem !== null) return reply(res, 400, { message: problem })
      sim.addFault(body as unknown as FaultSpec)
    } else if (path === '/sim/delay') {
      if (typeof body.ms !== 'number' || !(body.ms >= 0)) return reply(res, 400, { message: 'ms must be a number >= 0' })
      sim.setDelay(body.ms)
    } else if (path === '/sim/drop') {
      if (!Number.isInteger(body.count) || (body.count as number) < 0) return reply(res, 400, { message: 'count must be an integer >= 0' })
      sim.setDropConnections(body.count as number)
    } else {
      if (body.value !== null && typeof body.value !== 'string') return reply(res, 400, { message: 'value must be a string or null' })
      sim.setDateHeader(body.value)
    }
    reply(res, 200, { ok: true })
  }

  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    if (path.startsWith('/v3/')) return send(req, res, path)
    if (path.startsWith('/sim/')) {
      control(req, res, path).catch((err: Error) => {
        if (!res.headersSent) reply(res, 500, { message: `simulator error: ${err.message}` })
      })
      return
    }
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
    reset () {
      received = []
      requests = 0
      sw.clearAll()
    },
    addFault: (f) => sw.addFault(f, Date.now()),
    clearFaults: () => sw.clearFaults(),
    setDelay: (ms) => { sw.delayMs = ms },
    setDropConnections: (n) => { sw.dropNext = n },
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
