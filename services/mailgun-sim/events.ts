/**
 * Mailgun's Events API over the simulator's accepted sends: `GET /v3/:domain/events` and the
 * paging URLs it hands out (`/v3/:domain/events/<token>`). Follows Mailgun's documented behaviour
 * (its `api-events.rst`, the OpenAPI spec, mailgun-go's event types and mock):
 *
 * - An accepted send logs one `accepted` event per recipient (`to`, `cc`, `bcc`; `to` for
 *   messages.mime), since "every event pertains to only one recipient", each with a `delivered`
 *   event right after (at `o:deliverytime` when the send is scheduled). An event shows in the API
 *   only once `visibleAt` has passed: Mailgun's events take a while to reach its index.
 * - Items have Mailgun's shape: `event`, `id`, `timestamp` (float epoch seconds), `recipient`,
 *   `message.headers['message-id']` without angle brackets, `flags`, `envelope`, `tags`,
 *   `user-variables`; `paging` has `first`, `last`, `next` and `previous` URLs, always all four.
 *   Following `next` keeps returning pages until one comes back empty, as Mailgun's does.
 * - Query: `begin`/`end` (epoch seconds or an RFC 2822 date; `begin` defaults to the time of the
 *   request), `ascending` (`yes`/`no`, default `no`), `limit` (default 100, at most 300), and
 *   the filters `event` (names, `a OR b`), `message-id` and `recipient`. Mailgun matches
 *   `message-id` without its angle brackets; given with them, its filter returned other messages'
 *   events too (mailgun/mailgun.js#296), which this models by ignoring such a filter (the
 *   loose message-id switch does the same to every message-id filter). Other filter
 *   fields Mailgun has (`from`, `subject`, `tags`, …) get a 400 saying the simulator lacks them.
 *
 * The paging token is the query and a position, base64url JSON: a cursor into the append-only
 * log, so pages stay stable while sends keep arriving.
 */
import { randomBytes } from 'node:crypto'
import { addresses, addrSpec, fieldCi, valueOf, type ParsedForm } from './form.js'

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 300

/** What the Events API needs of an accepted send. */
export interface AcceptedSend {
  domain: string
  /** The id Mailgun answered with, `<…>`. */
  id: string
  /** Accept time, epoch ms. */
  at: number
  /** Delivery time (epoch ms) for a scheduled send, else null. */
  deliverAt: number | null
  recipients: string[]
  from: string
  to: string
  subject: string
  tags: string[]
  userVariables: Record<string, string>
  testMode: boolean
  attachments: Array<{ filename: string, 'content-type': string, size: number }>
  size: number
}

/** The Events API's view of a send Mailgun accepted: `id` is the id it answered with; `size` in bytes. */
export function acceptedSend (domain: string, id: string, at: number, endpoint: 'messages' | 'messages.mime', form: ParsedForm, size: number): AcceptedSend {
  const all = (name: string): string[] => (form.fields[name] ?? []).map((v) => valueOf(form, v))
  const one = (name: string): string => {
    const v = fieldCi(form.fields, name)
    return v === undefined ? '' : valueOf(form, v)
  }
  const seen = new Set<string>()
  const recipients: string[] = []
  for (const field of endpoint === 'messages' ? ['to', 'cc', 'bcc'] : ['to']) {
    for (const address of all(field).flatMap(addresses)) {
      const spec = addrSpec(address)
      if (seen.has(spec.toLowerCase())) continue // Mailgun ignores repeated recipients
      seen.add(spec.toLowerCase())
      recipients.push(spec)
    }
  }
  const deliverAt = Date.parse(one('o:deliverytime'))
  return {
    domain,
    id,
    at,
    deliverAt: Number.isFinite(deliverAt) ? deliverAt : null,
    recipients,
    from: one('from'),
    to: all('to').join(', '),
    subject: one('subject'),
    tags: all('o:tag'),
    userVariables: Object.fromEntries(Object.keys(form.fields).filter((n) => n.startsWith('v:')).map((n) => [n.slice(2), all(n)[0] ?? ''])),
    testMode: ['yes', 'true'].includes(one('o:testmode').toLowerCase()),
    attachments: form.files.filter((f) => f.field === 'attachment' || f.field === 'inline')
      .map((f) => ({ filename: f.filename, 'content-type': f.contentType, size: f.size })),
    size
  }
}

interface StoredEvent { domain: string, messageId: string, event: string, recipient: string, at: number, visibleAt: number, item: object }

export interface EventsQuery {
  /** Without brackets; null: every message. */
  messageId: string | null
  events: string[] | null
  recipient: string | null
  ascending: boolean
  limit: number
  /** Range, epoch ms (begin inclusive; end inclusive, null: no end). */
  begin: number
  end: number | null
}

/** A position between events in listing order; `back`: the page before it. */
interface Cursor { at: number, back: boolean }
interface Token { q: EventsQuery, c: Cursor }

export interface EventsPage { items: object[], paging: { first: string, last: string, next: string, previous: string } }

const UNSUPPORTED = ['list', 'attachment', 'from', 'subject', 'to', 'size', 'recipients', 'tags', 'severity']
const EVENT_NAME = /^[a-z_]+$/

/** Epoch ms of a `begin`/`end` value (epoch seconds or a date Date.parse reads), or NaN. */
function instantOf (value: string): number {
  const seconds = Number(value)
  return value.trim() !== '' && Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value)
}

/** The query of a first request, or Mailgun-style error text. */
export function parseQuery (params: URLSearchParams, now: number): EventsQuery | string {
  for (const field of UNSUPPORTED) if (params.has(field)) return `the simulator does not filter events by ${field}`
  const limitText = params.get('limit')
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return `limit must be an integer from 1 to ${MAX_LIMIT}`
  const begin = params.has('begin') ? instantOf(params.get('begin') as string) : now
  const end = params.has('end') ? instantOf(params.get('end') as string) : null
  if (Number.isNaN(begin)) return 'begin is not a valid date or epoch time'
  if (end !== null && Number.isNaN(end)) return 'end is not a valid date or epoch time'
  const asc = params.get('ascending')
  if (asc !== null && asc !== 'yes' && asc !== 'no') return 'ascending must be yes or no'
  const ascending = end !== null ? end > begin : asc === 'yes'
  if (asc !== null && end !== null && (asc === 'yes') !== ascending) return 'ascending does not agree with begin and end'
  let events: string[] | null = null
  const eventExpr = params.get('event')
  if (eventExpr !== null) {
    events = eventExpr.trim().split(/\s+OR\s+/)
    if (events.some((e) => !EVENT_NAME.test(e))) return 'the simulator filters event by names only ("accepted" or "accepted OR delivered")'
  }
  let messageId = params.get('message-id')
  // Mailgun ignores a bracketed id as a filter (see the file comment)
  if (messageId !== null && messageId.startsWith('<') && messageId.endsWith('>')) messageId = null
  const recipient = params.get('recipient')?.toLowerCase() ?? null
  return { messageId, events, recipient, ascending, limit, begin, end }
}

const isStringOrNull = (v: unknown): boolean => v === null || typeof v === 'string'

/** The query and position of a paging URL's token, or null when it is not one of ours. */
export function decodeToken (token: string): Token | null {
  let t: { q?: Record<string, unknown>, c?: Record<string, unknown> }
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof t
  } catch {
    return null
  }
  const { q, c } = t ?? {}
  if (typeof q !== 'object' || q === null || typeof c !== 'object' || c === null) return null
  const ok = isStringOrNull(q.messageId) && isStringOrNull(q.recipient) && typeof q.ascending === 'boolean' &&
    Number.isInteger(q.limit) && (q.limit as number) >= 1 && (q.limit as number) <= MAX_LIMIT &&
    typeof q.begin === 'number' && (q.end === null || typeof q.end === 'number') &&
    (q.events === null || (Array.isArray(q.events) && q.events.every((e) => typeof e === 'string'))) &&
    typeof c.at === 'number' && typeof c.back === 'boolean'
  return ok ? t as unknown as Token : null
}

function encodeToken (q: EventsQuery, c: Cursor): string {
  return Buffer.from(JSON.stringify({ q, c })).toString('base64url')
}

/** `DACSsAdVSeGpLid7TN03WA`: the shape of Mailgun's event ids. */
function eventId (): string {
  return randomBytes(16).toString('base64url')
}

/** The append-only event log of one simulator. */
export class EventLog {
  #events: StoredEvent[] = []
  /** `domain message-id` → positions in #events, ascending. */
  #byMessage = new Map<string, number[]>()

  /** Logs the events of an accepted send, shown from `visibleAt` on. */
  record (send: AcceptedSend, visibleAt: number): void {
    const messageId = send.id.replace(/^<|>$/g, '')
    const delivered = send.deliverAt !== null && send.deliverAt > send.at ? send.deliverAt : send.at + 1
    for (const recipient of send.recipients) {
      this.#add(send, messageId, 'accepted', recipient, send.at, visibleAt, {})
      this.#add(send, messageId, 'delivered', recipient, delivered, visibleAt + delivered - send.at, {
        'delivery-status': { code: send.testMode ? 650 : 250, message: 'OK', description: '', 'attempt-no': 1, 'session-seconds': 0.1, tls: true }
      })
    }
  }

  #add (send: AcceptedSend, messageId: string, event: string, recipient: string, at: number, visibleAt: number, extra: object): void {
    const item = {
      event,
      id: eventId(),
      timestamp: at / 1000,
      'log-level': 'info',
      method: 'http',
      recipient,
      'recipient-domain': recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase(),
      envelope: { sender: send.from, targets: recipient, transport: event === 'accepted' ? '' : 'smtp' },
      flags: { 'is-authenticated': true, 'is-test-mode': send.testMode },
      message: {
        headers: { to: send.to, 'message-id': messageId, from: send.from, subject: send.subject },
        attachments: send.attachments,
        size: send.size
      },
      tags: send.tags,
      campaigns: [],
      'user-variables': send.userVariables,
      ...extra
    }
    const key = `${send.domain} ${messageId}`
    const list = this.#byMessage.get(key)
    if (list === undefined) this.#byMessage.set(key, [this.#events.length])
    else list.push(this.#events.length)
    this.#events.push({ domain: send.domain, messageId, event, recipient: recipient.toLowerCase(), at, visibleAt, item })
  }

  clear (): void {
    this.#events = []
    this.#byMessage.clear()
  }

  /**
   * One page of `domain`'s events for `q` from cursor `c` (a first request: `null`), as seen at
   * `now`; `base` is the URL paging links start with (`http://host:port`).
   */
  page (domain: string, q: EventsQuery, c: Cursor | null, now: number, base: string): EventsPage {
    // listing position of the event at index i: ascending by index, or descending (newest first)
    const pos = (i: number): number => (q.ascending ? i : -i - 1)
    const cursor = c ?? { at: -Number.MAX_SAFE_INTEGER, back: false }
    const listed: number[] = []
    for (const i of this.#candidates(domain, q)) {
      if (this.#matches(this.#events[i] as StoredEvent, domain, q, now)) listed.push(i)
    }
    if (!q.ascending) listed.reverse()
    const page = cursor.back
      ? listed.filter((i) => pos(i) < cursor.at).slice(-q.limit)
      : listed.filter((i) => pos(i) >= cursor.at).slice(0, q.limit)
    const first = page[0]
    const last = page[page.length - 1]
    const url = (to: Cursor): string => `${base}/v3/${encodeURIComponent(domain)}/events/${encodeToken(q, to)}`
    return {
      items: page.map((i) => (this.#events[i] as StoredEvent).item),
      paging: {
        first: url({ at: -Number.MAX_SAFE_INTEGER, back: false }),
        last: url({ at: Number.MAX_SAFE_INTEGER, back: true }),
        next: url({ at: last === undefined ? cursor.at : pos(last) + 1, back: false }),
        previous: url({ at: first === undefined ? cursor.at : pos(first), back: true })
      }
    }
  }

  /** Indexes that may match, ascending: one message's events, or every event. */
  #candidates (domain: string, q: EventsQuery): Iterable<number> {
    if (q.messageId !== null) return this.#byMessage.get(`${domain} ${q.messageId}`) ?? []
    return this.#events.keys()
  }

  #matches (e: StoredEvent, domain: string, q: EventsQuery, now: number): boolean {
    if (e.domain !== domain || e.visibleAt > now) return false
    if (q.events !== null && !q.events.includes(e.event)) return false
    if (q.recipient !== null && e.recipient !== q.recipient) return false
    if (q.ascending) return e.at >= q.begin && (q.end === null || e.at <= q.end)
    return e.at <= q.begin && (q.end === null || e.at >= q.end)
  }
}
