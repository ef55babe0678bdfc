/**
 * Switches that make the simulator misbehave the ways Mailgun and networks do: status faults,
 * a delay before every answer, connections dropped before or after Mailgun accepted a send, a
 * fixed Date header, and how long events take to show in the Events API. Plain state; the clock
 * is always passed in, so nothing here reads time on its own.
 */

/** Which part of the API a fault or a delay applies to: the two send endpoints, or the Events API. */
export type Api = 'messages' | 'events'

/** One fault: answer matching sends with `status` instead of sending them. */
export interface FaultSpec {
  /** Answer with this status instead of sending. */
  status: number
  /** For the next N matching requests … */
  count?: number
  /** … or for this long, in milliseconds from when it was added (neither: until cleared; both: whichever ends first). */
  forMs?: number
  /** Only requests for this domain (case-insensitive). */
  domain?: string
  /** Sends (default) or Events API reads. */
  api?: Api
  /** Retry-After header value to send. */
  retryAfter?: string
  /** Extra headers (e.g. X-RateLimit-Reset). */
  headers?: Record<string, string>
  /** Raw body; default: a Mailgun-like body for the status. */
  body?: string
}

/** A ready answer: status, headers and body. */
export interface Answer {
  status: number
  headers: Record<string, string>
  body: string
}

interface ActiveFault { spec: FaultSpec, domain: string | undefined, api: Api, left: number, until: number }

/** Checks a fault spec that came from outside (the control route); returns what is wrong, or null. */
export function faultProblem (spec: unknown): string | null {
  if (typeof spec !== 'object' || spec === null) return 'a fault is a JSON object'
  const s = spec as Record<string, unknown>
  if (!Number.isInteger(s.status) || (s.status as number) < 100 || (s.status as number) > 599) return 'status must be an HTTP status (100-599)'
  if (s.count !== undefined && (!Number.isInteger(s.count) || (s.count as number) < 1)) return 'count must be a positive integer'
  if (s.forMs !== undefined && (typeof s.forMs !== 'number' || !(s.forMs >= 0))) return 'forMs must be a number of milliseconds'
  if (s.api !== undefined && s.api !== 'messages' && s.api !== 'events') return 'api must be "messages" or "events"'
  for (const k of ['domain', 'retryAfter', 'body'] as const) {
    if (s[k] !== undefined && typeof s[k] !== 'string') return `${k} must be a string`
  }
  if (s.headers !== undefined) {
    if (typeof s.headers !== 'object' || s.headers === null) return 'headers must be an object of strings'
    if (Object.values(s.headers).some((v) => typeof v !== 'string')) return 'headers must be an object of strings'
  }
  return null
}

export class Switches {
  #faults: ActiveFault[] = []
  /** Delay before answering every send, in milliseconds. */
  delayMs = 0
  /** Delay before answering every Events API read, in milliseconds. */
  eventsDelayMs = 0
  /** Sends whose socket is destroyed without an answer, before Mailgun accepts them. */
  dropNext = 0
  /** Sends that are accepted (recorded, with their events) and then get no answer: the socket is destroyed. */
  dropAfterAccept = 0
  /** Date header to send; null: the real current time (node's IMF-fixdate). */
  date: string | null = null
  /** How long after acceptance a send's events show in the Events API, in milliseconds. */
  eventDelayMs: number
  /** The Events API's message-id filter lets every message's events through (mailgun/mailgun.js#296). */
  looseMessageIdFilter = false

  /** `eventDelayMs`: the normal event delay, which clearAll() returns to. */
  constructor (readonly normalEventDelayMs = 0) {
    this.eventDelayMs = normalEventDelayMs
  }

  addFault (spec: FaultSpec, now: number): void {
    this.#faults.push({
      spec,
      domain: spec.domain?.toLowerCase(),
      api: spec.api ?? 'messages',
      left: spec.count ?? Infinity,
      until: spec.forMs !== undefined ? now + spec.forMs : Infinity
    })
  }

  clearFaults (): void {
    this.#faults = []
  }

  /** Faults, delays, drops, the Date override and the event delay back to normal. */
  clearAll (): void {
    this.clearFaults()
    this.delayMs = 0
    this.eventsDelayMs = 0
    this.dropNext = 0
    this.dropAfterAccept = 0
    this.date = null
    this.eventDelayMs = this.normalEventDelayMs
    this.looseMessageIdFilter = false
  }

  /** The first fault (in the order added) that answers this request, spending one of its uses; null: answer normally. */
  take (domain: string, now: number, api: Api = 'messages'): { spec: FaultSpec, until: number } | null {
    if (this.#faults.length === 0) return null
    this.#faults = this.#faults.filter((f) => f.left > 0 && f.until > now)
    const f = this.#faults.find((x) => x.api === api && (x.domain === undefined || x.domain === domain))
    if (!f) return null
    f.left -= 1
    return { spec: f.spec, until: f.until }
  }
}

const JSON_TYPE = 'application/json; charset=utf-8'
const TEXT_TYPE = 'text/plain; charset=utf-8'

/** Mailgun's 401: the plain text `Forbidden` with its realm (reference: mailgun-api.md §3). */
export const FORBIDDEN: Answer = Object.freeze({
  status: 401,
  headers: Object.freeze({ 'content-type': TEXT_TYPE, 'www-authenticate': 'Basic realm="MG API"' }) as Record<string, string>,
  body: 'Forbidden'
})

export function jsonAnswer (status: number, message: string): Answer {
  return { status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ message }) }
}

/** `Mon, 20 Dec 2021 20:33:21 UTC`, the form of Mailgun's "try again after" text. */
function mailgunDate (ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, 'UTC')
}

/** When a rate-limited client may try again: Retry-After seconds if numeric/dated, else the fault's end, else a minute. */
function retryAt (spec: FaultSpec, until: number, now: number): number {
  if (spec.retryAfter !== undefined) {
    const s = Number(spec.retryAfter)
    if (spec.retryAfter.trim() !== '' && Number.isFinite(s)) return now + s * 1000
    const d = Date.parse(spec.retryAfter)
    if (Number.isFinite(d)) return d
  }
  return Number.isFinite(until) ? until : now + 60_000
}

const SERVER_ERRORS: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout'
}

/** The answer a fault gives: Mailgun's body for its status (or the spec's raw body) plus its headers. */
export function faultAnswer (fault: { spec: FaultSpec, until: number }, domain: string, now: number): Answer {
  const { spec } = fault
  const base = spec.status === 401 ? { ...FORBIDDEN, headers: { ...FORBIDDEN.headers } } : jsonAnswer(spec.status, defaultMessage(fault, domain, now))
  if (spec.body !== undefined) {
    base.body = spec.body
    base.headers['content-type'] = looksJson(spec.body) ? JSON_TYPE : TEXT_TYPE
  }
  if (spec.retryAfter !== undefined) base.headers['retry-after'] = spec.retryAfter
  if (spec.headers) for (const [k, v] of Object.entries(spec.headers)) base.headers[k.toLowerCase()] = v
  return base
}

function defaultMessage (fault: { spec: FaultSpec, until: number }, domain: string, now: number): string {
  const status = fault.spec.status
  if (status === 429 || status === 420) {
    return `Domain ${domain} is not allowed to send: request limit exceeded, try again after ${mailgunDate(retryAt(fault.spec, fault.until, now))}`
  }
  if (status === 400) return 'from parameter is missing'
  if (status === 403) return `Domain ${domain} is not allowed to send: Free accounts are for test purposes only. Please upgrade or add the address to authorized recipients in Account Settings.`
  if (status === 404) return `Domain not found: ${domain}`
  if (status === 413) return 'request size exceeds 52.4MiB limit'
  if (status >= 500) return SERVER_ERRORS[status] ?? 'Internal Server Error'
  return `Error ${status}`
}

function looksJson (body: string): boolean {
  try {
    JSON.parse(body)
    return true
  } catch {
    return false
  }
}
