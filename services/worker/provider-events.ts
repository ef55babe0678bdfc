/**
 * Did Mailgun accept this message? The lookup behind verify-before-retry: after an attempt whose
 * answer was lost, one `GET {base}/v3/{domain}/events?message-id=<id>&event=accepted` with the
 * domain's account key (`primaryKey`; sending keys cannot read events) tells a message Mailgun
 * already took from one it never got. Mailgun has deprecated the Events API in favour of its Logs
 * API; everything that knows the Events API is in this file, so the lookup can move there alone.
 *
 * - `message-id` goes without its angle brackets: Mailgun matches the bare id (given with them,
 *   its filter returned other messages' events, mailgun/mailgun.js#296). An item counts only if
 *   it is an `accepted` event whose `message.headers['message-id']` is exactly this id.
 * - Pages are followed through `paging.next` while a page has items and none matched (Mailgun's
 *   listing ends with an empty page), but only to the origin configured for the region: the key
 *   is never sent anywhere else. At most MAX_PAGES pages.
 * - Never throws: a network error, a timeout, a non-2xx answer, an unreadable body, a foreign
 *   `next` or too many pages is `unavailable` with the reason (Mailgun's own words where it gave
 *   some); the key is in no reason.
 */
import { Pool } from 'undici'
import type { Region } from '../../shared/config.js'
import type { Secret } from '../../shared/secret.js'
import { basicAuth } from './mailgun-client.js'

export type AcceptedLookup =
  /** `at`: epoch ms of the accepted event's timestamp. */
  | { kind: 'accepted', at: number }
  | { kind: 'not-found' }
  /** Network error, timeout, non-2xx, unreadable body, foreign next page: nothing can be said. */
  | { kind: 'unavailable', reason: string }

export interface ProviderEvents {
  /** Looks for Mailgun's `accepted` event of `messageId` (`<local@domain>`); never throws. */
  findAccepted(region: Region, domain: string, messageId: string, primaryKey: Secret): Promise<AcceptedLookup>
  /** Closes the connection pools; idempotent. */
  close(): Promise<void>
}

export interface ProviderEventsOptions {
  /** Base URL per region, e.g. https://api.eu.mailgun.net (a path prefix is kept). */
  baseUrl: Readonly<Record<Region, string>>
  /** Deadline of one Events API request (headers and whole body), in milliseconds. */
  timeoutMs: number
}

/** Pages read at most: with the message-id filter a listing holds one event per recipient. */
export const MAX_PAGES = 10
/** Keep-alive connections per origin: lookups are rare (only after a lost answer). */
const CONNECTIONS = 16
const EXCERPT = 200

interface EventItem { event?: unknown, timestamp?: unknown, message?: { headers?: Record<string, unknown> } }
type Page = { items: EventItem[], next: string | null }

const bare = (id: string): string => id.replace(/^<|>$/g, '')

/** The accepted event's time among `items`, NaN when one matched without a readable timestamp, or null. */
function acceptedAt (items: EventItem[], id: string): number | null {
  let at: number | null = null
  for (const item of items) {
    const itemId = item?.message?.headers?.['message-id']
    if (item?.event !== 'accepted' || typeof itemId !== 'string' || bare(itemId) !== id) continue
    const ms = typeof item.timestamp === 'number' && item.timestamp > 0 ? Math.round(item.timestamp * 1000) : Number.NaN
    if (Number.isNaN(ms)) return Number.NaN
    if (at === null || ms < at) at = ms
  }
  return at
}

/** A page of the Events API's answer, or why it is not one. */
function pageOf (text: string): Page | string {
  let json: { items?: unknown, paging?: { next?: unknown } }
  try {
    json = JSON.parse(text) as typeof json
  } catch {
    return 'the events answer is not JSON'
  }
  if (!Array.isArray(json?.items)) return 'the events answer has no items list'
  const next = json.paging?.next
  return { items: json.items as EventItem[], next: typeof next === 'string' ? next : null }
}

export function createProviderEvents (opts: ProviderEventsOptions): ProviderEvents {
  const pools = new Map<string, Pool>()
  let closing: Promise<void> | null = null
  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin)
    if (pool === undefined) {
      pool = new Pool(origin, { connections: CONNECTIONS, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs })
      pools.set(origin, pool)
    }
    return pool
  }

  /** One GET on `origin`; a page, or why not. The body is always read. */
  async function get (origin: string, path: string, authorization: string): Promise<Page | string> {
    const res = await poolFor(origin).request({
      method: 'GET',
      path,
      headers: { authorization, accept: 'application/json' },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal: AbortSignal.timeout(opts.timeoutMs)
    })
    const text = await res.body.text()
    if (res.statusCode < 200 || res.statusCode > 299) return `the events API answered ${res.statusCode}: ${text.trim().slice(0, EXCERPT)}`
    return pageOf(text)
  }

  async function lookup (region: Region, domain: string, messageId: string, primaryKey: Secret): Promise<AcceptedLookup> {
    const base = new URL(opts.baseUrl[region])
    const id = bare(messageId)
    const authorization = basicAuth(primaryKey.reveal())
    const query = new URLSearchParams({ 'message-id': id, event: 'accepted' })
    let path = `${base.pathname.replace(/\/+$/, '')}/v3/${encodeURIComponent(domain)}/events?${query.toString()}`
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const page = await get(base.origin, path, authorization)
      if (typeof page === 'string') return { kind: 'unavailable', reason: page }
      if (page.items.length === 0) return { kind: 'not-found' }
      const at = acceptedAt(page.items, id)
      if (Number.isNaN(at)) return { kind: 'unavailable', reason: 'an accepted event has no readable timestamp' }
      if (at !== null) return { kind: 'accepted', at }
      if (page.next === null) return { kind: 'unavailable', reason: 'a page of events has no paging.next' }
      let next: URL
      try {
        next = new URL(page.next)
      } catch {
        return { kind: 'unavailable', reason: 'paging.next is not a URL' }
      }
      if (next.origin !== base.origin) return { kind: 'unavailable', reason: `paging.next leads to another origin (${next.origin}); the key is not sent there` }
      path = next.pathname + next.search
    }
    return { kind: 'unavailable', reason: `no answer within ${MAX_PAGES} pages of events` }
  }

  return {
    async findAccepted (region, domain, messageId, primaryKey) {
      try {
        return await lookup(region, domain, messageId, primaryKey)
      } catch (err) {
        const e = err as { code?: unknown, name?: unknown, message?: unknown }
        const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error'
        return { kind: 'unavailable', reason: `the events API did not answer: ${code}${typeof e?.message === 'string' ? ` (${e.message})` : ''}` }
      }
    },
    close () {
      closing ??= Promise.all([...pools.values()].map((p) => p.close())).then(() => {})
      return closing
    }
  }
}
