/**
 * A stand-in for Mailgun's sending API over real HTTP, for tests, sandbox mode, docker compose and
 * the benchmark. It imports nothing of mailqueue's, so it stays an honest stand-in; its answers
 * follow ../shared/reference/mailgun-api.md (bodies, 401 `Forbidden` as text, Message-Id echo).
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { faultBody, Faults, type FaultSpec } from './faults.js'
import { BadForm, parseForm, TooLarge, type ParsedForm } from './form.js'

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
  at: number
  domain: string
  endpoint: 'messages' | 'messages.mime'
  /** The password of the Basic auth that was accepted. */
  key: string
  /** h:Message-Id as sent, or null. */
  messageId: string | null
  fields: Record<string, string[]>
  files: ParsedForm['files']
  contentType: string
}

export interface Simulator {
  url: string
  received(): ReceivedMessage[]
  requests(): number
  reset(): void
  addFault(f: FaultSpec): void
  clearFaults(): void
  setDelay(ms: number): void
  setDropConnections(n: number): void
  setDateHeader(value: string | null): void
  close(): Promise<void>
}

const SEND_PATH = /^\/v3\/([^/]+)\/(messages|messages\.mime)$/
const MAX_RECIPIENTS = 1000

function keyOf (header: string | undefined): string | null {
  if (!header?.startsWith('Basic ')) return null
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
  return decoded.startsWith('api:') ? decoded.slice(4) : null
}

function answer (res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

const json = (res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void =>
  answer(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers)

function recipients (values: string[] | undefined): number {
  return (values ?? []).reduce((n, v) => n + v.split(',').filter((s) => s.trim()).length, 0)
}

/** Mailgun's 400s for a send, in the order Mailgun checks them; null when the form is acceptable. */
function invalid (endpoint: ReceivedMessage['endpoint'], form: ParsedForm): string | null {
  const f = form.fields
  if (endpoint === 'messages' && !f.from?.[0]) return 'from parameter is missing'
  if (!f.to?.[0]) return 'to parameter is missing'
  if (endpoint === 'messages.mime' && !form.files.some((x) => x.field === 'message') && !f.message?.[0]) return 'message parameter is missing'
  if (endpoint === 'messages' && !f.text && !f.html && !f['amp-html'] && !f.template) {
    return "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
  }
  if (recipients(f.to) + recipients(f.cc) + recipients(f.bcc) > MAX_RECIPIENTS) return 'Too many recipients, max is 1000'
  const rv = f['recipient-variables']?.[0]
  if (rv !== undefined) {
    try { JSON.parse(rv) } catch { return "'recipient-variables' parameter is not a valid JSON" }
  }
  return null
}

function generatedId (domain: string): string {
  const d = new Date()
  const stamp = d.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  return `<${stamp}.${randomBytes(8).toString('hex')}@${domain}>`
}

async function readJson (req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  return text ? JSON.parse(text) as Record<string, unknown> : {}
}

export async function startSimulator (opts: SimulatorOptions): Promise<Simulator> {
  const keys = new Map(opts.domains.map((d) => [d.name.toLowerCase(), d.sendingKey]))
  const fast = opts.mode === 'fast'
  const faults = new Faults()
  let received: ReceivedMessage[] = []
  let requests = 0

  async function send (req: IncomingMessage, res: ServerResponse, domain: string, endpoint: ReceivedMessage['endpoint']): Promise<void> {
    requests += 1
    if (faults.dropNext > 0) {
      faults.dropNext -= 1
      req.socket.destroy()
      return
    }
    const key = keyOf(req.headers.authorization)
    const known = keys.has(domain)
    const accountOk = opts.accountKey !== undefined && key === opts.accountKey
    if (key === null || (!accountOk && keys.get(domain) !== key)) {
      req.resume()
      answer(res, 401, 'text/plain; charset=utf-8', 'Forbidden', { 'www-authenticate': 'Basic realm="MG API"' })
      return
    }
    if (!known) {
      req.resume()
      json(res, 404, { message: `Domain not found: ${domain}` })
      return
    }
    let form: ParsedForm
    try {
      form = await parseForm(req)
    } catch (err) {
      if (err instanceof TooLarge) json(res, 413, { message: 'request size exceeds 52.4MiB limit' })
      else if (err instanceof BadForm) json(res, 400, { message: 'malformed multipart/form-data request' })
      else throw err
      return
    }
    const now = Date.now()
    const fault = faults.take(domain, now)
    if (faults.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.delayMs))
    if (fault) {
      const { type, body } = faultBody(fault.status, domain, now)
      const headers: Record<string, string> = { ...fault.headers }
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter
      answer(res, fault.status, fault.body !== undefined ? 'application/json; charset=utf-8' : type, fault.body ?? body, headers)
      return
    }
    const problem = invalid(endpoint, form)
    if (problem) {
      json(res, 400, { message: problem })
      return
    }
    const messageId = form.fields['h:Message-Id']?.[0] ?? form.fields['h:Message-ID']?.[0] ?? null
    received.push({
      at: now, domain, endpoint, key, messageId,
      fields: fast ? {} : form.fields,
      files: fast ? [] : form.files,
      contentType: form.contentType
    })
    json(res, 200, { id: messageId ?? generatedId(domain), message: 'Queued. Thank you.' },
      { date: faults.date ?? new Date(now).toUTCString() })
  }

  async function control (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`
    if (route === 'GET /sim/received') return json(res, 200, received)
    if (route === 'GET /sim/stats') return json(res, 200, { received: received.length, requests })
    if (route === 'DELETE /sim/received') { sim.reset(); return json(res, 200, { ok: true }) }
    if (route === 'DELETE /sim/faults') { faults.clear(); return json(res, 200, { ok: true }) }
    const body = await readJson(req)
    if (route === 'POST /sim/faults') faults.add(body as unknown as FaultSpec, Date.now())
    else if (route === 'POST /sim/delay') faults.delayMs = Number(body.ms ?? 0)
    else if (route === 'POST /sim/drop') faults.dropNext = Number(body.count ?? 0)
    else if (route === 'POST /sim/date') faults.date = typeof body.value === 'string' ? body.value : null
    else return json(res, 404, { message: 'unknown control route' })
    json(res, 200, { ok: true })
  }

  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const match = req.method === 'POST' ? SEND_PATH.exec(path) : null
    const done = match
      ? send(req, res, decodeURIComponent(match[1] ?? '').toLowerCase(), match[2] as ReceivedMessage['endpoint'])
      : path.startsWith('/sim/') ? control(req, res, path) : Promise.resolve(json(res, 404, { message: 'Not Found' }))
    done.catch((err: Error) => { if (!res.headersSent) json(res, 500, { message: `simulator error: ${err.message}` }) })
  })

  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  const sim: Simulator = {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    received: () => received,
    requests: () => requests,
    reset () { received = []; requests = 0; faults.clear() },
    addFault: (f) => faults.add(f, Date.now()),
    clearFaults: () => faults.clear(),
    setDelay: (ms) => { faults.delayMs = ms },
    setDropConnections: (n) => { faults.dropNext = n },
    setDateHeader: (value) => { faults.date = value },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  return sim
}
