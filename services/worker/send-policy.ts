/**
 * The sending policy: what one answer from Mailgun means for the message (CONTRACT.md "Sending").
 * Pure: no I/O, no clock reads, no Math.random; `now` and `random` come from the caller so every
 * branch is unit-tested with fixed values. `worker.ts` is the one place a Decision becomes a move.
 */
import { parseRfc2822 } from '../../shared/dates/index.js'

/** What one HTTP attempt to Mailgun produced. */
export type ProviderAnswer =
  | { kind: 'http'; status: number; headers: Record<string, string | string[] | undefined>; body: string }
  /** `code` is the error's `err.code` (UND_ERR_HEADERS_TIMEOUT, ECONNRESET, …): match codes, never message text. */
  | { kind: 'transport'; code: string; message: string }

export type Decision =
  | { kind: 'sent' }
  /** holdDomain: every message of the domain would fail the same way (401/403), so pause the domain. */
  | { kind: 'fail'; reason: string; holdDomain: boolean }
  /**
   * notBefore: epoch ms. spendsAttempt false for 429/420 (BullMQ: moveToDelayed + DelayedError).
   * slowDomain: the domain was rate limited; call DomainRate.slowDown.
   */
  | { kind: 'retry'; notBefore: number; spendsAttempt: boolean; reason: string; slowDomain: boolean }
  /**
   * The answer was lost after the request went out (a timeout, a dropped connection): Mailgun may
   * have accepted the message. Only for a domain that can read its events (`verifyAfterMs` set):
   * the attempt is spent, and no sooner than notBefore its events are checked before any resend,
   * even after the last attempt (the message may be sent, not failed).
   */
  | { kind: 'verify'; notBefore: number; reason: string }

export interface PolicyOptions {
  /** Attempts before a message fails; only attempts that spend count. */
  maxAttempts: number
  /** First backoff ceiling, in milliseconds (e.g. 1000). */
  backoffBaseMs: number
  /** Largest backoff ceiling, in milliseconds (e.g. 300000). */
  backoffCapMs: number
  /**
   * How long to wait after an ambiguous attempt before the events are checked; absent for a domain
   * without a primaryKey, whose ambiguous attempts are retried as any transport error.
   */
  verifyAfterMs?: number
}

/** Wait after a 429/420 that names no time (no Retry-After, X-RateLimit-Reset or "try again after"). */
export const RATE_LIMIT_DEFAULT_WAIT_MS = 60_000
/** Shortest wait after a 429/420, even when the hint says "now" or lies in the past. */
export const RATE_LIMIT_MIN_WAIT_MS = 1_000
/**
 * Spread added on top of a 429/420 wait (random() * this), so the messages of a domain that were
 * all told the same instant do not all come back in the same millisecond. Only ever later, never
 * sooner than the hint.
 */
export const RATE_LIMIT_SPREAD_MS = 1_000
/** Largest provider text kept in a reason. */
const MESSAGE_MAX_CHARS = 500

/**
 * Transport codes that mean our request could not be built, not that Mailgun or the network
 * failed: retrying would fail the same way, so the message fails at once.
 */
const NON_RETRYABLE_TRANSPORT = new Set(['UND_ERR_INVALID_ARG', 'ERR_INVALID_URL', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_ARG_TYPE'])

/**
 * Transport codes that can come after the request was written, so Mailgun may have accepted the
 * message: no answer in time (undici's headers and body timeouts), the connection lost or reset
 * mid-request. Not among them: a refused or unreachable connection, a DNS failure, a connect
 * timeout, TLS failures — the request never left — and any HTTP status, which is an answer.
 */
const AMBIGUOUS_TRANSPORT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'])

/** Words every ambiguous attempt's reason ends with; the worker finds such an attempt by them. */
export const MAY_HAVE_ACCEPTED = 'Mailgun may have accepted it'

/** True when `answer` is a transport failure after which Mailgun may have the message. */
export function isAmbiguous (answer: ProviderAnswer): boolean {
  return answer.kind === 'transport' && AMBIGUOUS_TRANSPORT.has(answer.code)
}

const SENT: Decision = Object.freeze({ kind: 'sent' })

/** attempt = 1-based number of this attempt among those that spend. now = epoch ms. random() in [0,1). */
export function decide (answer: ProviderAnswer, attempt: number, now: number, opts: PolicyOptions, random: () => number): Decision {
  if (answer.kind === 'transport') {
    const what = `transport error ${answer.code}: ${answer.message}`
    if (NON_RETRYABLE_TRANSPORT.has(answer.code)) return { kind: 'fail', reason: what, holdDomain: false }
    if (opts.verifyAfterMs !== undefined && isAmbiguous(answer)) {
      return { kind: 'verify', notBefore: now + opts.verifyAfterMs, reason: `${what}; ${MAY_HAVE_ACCEPTED}: its events are checked before it is sent again` }
    }
    return retryOrGiveUp(what, attempt, now, opts, random)
  }
  const { status } = answer
  if (status >= 200 && status < 300) return SENT
  const text = providerMessage(answer.body)
  const what = text === '' ? `HTTP ${status}` : `HTTP ${status} ${text}`
  if (status === 429 || status === 420) {
    // Mailgun has used 420 for per-domain recipient limits; both mean "later", not "wrong".
    const hint = rateLimitWaitMs(answer.headers, answer.body, now)
    const wait = Math.max(RATE_LIMIT_MIN_WAIT_MS, hint ?? RATE_LIMIT_DEFAULT_WAIT_MS)
    return {
      kind: 'retry',
      notBefore: now + wait + Math.floor(random() * RATE_LIMIT_SPREAD_MS),
      spendsAttempt: false,
      reason: `rate limited: ${what}${hint === null ? ` (no wait given, waiting ${wait / 1000} s)` : ''}`,
      slowDomain: true
    }
  }
  // Mailgun answers 401 `Forbidden` both to a bad key and to a domain sent to the wrong region.
  if (status === 401) return { kind: 'fail', reason: `sending key rejected (or wrong region): ${what}`, holdDomain: true }
  if (status === 403) return { kind: 'fail', reason: `sending key rejected: ${what}`, holdDomain: true }
  if (status === 408 || (status >= 500 && status < 600)) return retryOrGiveUp(what, attempt, now, opts, random)
  // 400, 404, 413, any other 4xx, and statuses Mailgun never sends (1xx, 3xx): the same request
  // would get the same answer.
  return { kind: 'fail', reason: what, holdDomain: false }
}

function retryOrGiveUp (what: string, attempt: number, now: number, opts: PolicyOptions, random: () => number): Decision {
  if (attempt >= opts.maxAttempts) {
    return { kind: 'fail', reason: `gave up after ${attempt} attempts, last error: ${what}`, holdDomain: false }
  }
  return { kind: 'retry', notBefore: now + backoffMs(attempt, opts, random), spendsAttempt: true, reason: what, slowDomain: false }
}

/** Exponential backoff with full jitter: random() * min(cap, base * 2^(attempt-1)), whole ms. */
export function backoffMs (attempt: number, opts: Pick<PolicyOptions, 'backoffBaseMs' | 'backoffCapMs'>, random: () => number): number {
  const ceiling = Math.min(opts.backoffCapMs, opts.backoffBaseMs * 2 ** (Math.max(1, attempt) - 1))
  return Math.floor(random() * ceiling)
}

/**
 * How long a 429/420 asks to wait, in ms (0 when the named time has passed), or null when it names
 * none. First match wins:
 * 1. `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * 2. `X-RateLimit-Reset`: epoch ms when > 1e12 (Mailgun, 2021), epoch seconds when >= 1e9
 *    (mailgun-go reads seconds), else delta-seconds (no epoch value that small is ever current).
 * 3. The body text: "try again after Mon, 20 Dec 2021 20:33:21 UTC" or "try again after 120 seconds".
 * An unreadable source is skipped, not trusted.
 */
export function rateLimitWaitMs (headers: Record<string, string | string[] | undefined>, body: string, now: number): number | null {
  const retryAfter = header(headers, 'retry-after')
  if (retryAfter !== undefined) {
    const wait = /^\d+(\.\d+)?$/.test(retryAfter) ? Number(retryAfter) * 1000 : untilDate(retryAfter, now)
    if (wait !== null) return clampWait(wait)
  }
  const reset = header(headers, 'x-ratelimit-reset')
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset)) {
    const n = Number(reset)
    if (n > 1e12) return clampWait(n - now)
    if (n >= 1e9) return clampWait(n * 1000 - now)
    return clampWait(n * 1000)
  }
  const after = /try again after\s+(.+)$/i.exec(providerMessage(body))?.[1]?.trim().replace(/[.\s]+$/, '')
  if (after !== undefined && after !== '') {
    const delta = /^(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|hours?|h)$/i.exec(after)
    if (delta !== null) return clampWait(Number(delta[1]) * unitMs(delta[2] ?? 's'))
    const wait = untilDate(after, now)
    if (wait !== null) return clampWait(wait)
  }
  return null
}

/** Mailgun's own words from a response body: JSON {message} when present, else the trimmed text (capped). */
export function providerMessage (body: string): string {
  const trimmed = body.trim()
  let text = trimmed
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed)
      if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string') {
        text = ((parsed as { message: string }).message).trim()
      }
    } catch {
      // Not JSON after all: keep the text as it came.
    }
  }
  return text.length > MESSAGE_MAX_CHARS ? `${text.slice(0, MESSAGE_MAX_CHARS)}…` : text
}

function header (headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue
    const first = Array.isArray(value) ? value[0] : value
    if (first !== undefined && first.trim() !== '') return first.trim()
  }
  return undefined
}

/** ms from now until an RFC 2822 / HTTP date, or null when it is not one. */
function untilDate (text: string, now: number): number | null {
  const parsed = parseRfc2822(text)
  return parsed.ok ? parsed.instant - now : null
}

function clampWait (ms: number): number {
  return Number.isFinite(ms) ? Math.max(0, Math.ceil(ms)) : 0
}

function unitMs (unit: string): number {
  const u = unit.toLowerCase()
  if (u.startsWith('h')) return 3_600_000
  if (u.startsWith('m')) return 60_000
  return 1000
}
