/** Switches that make the simulator misbehave the ways Mailgun and networks do. */
export interface FaultSpec {
  /** Answer with this status instead of sending. */
  status: number
  /** For the next N matching requests … */
  count?: number
  /** … or for this long (neither: until cleared). */
  forMs?: number
  /** Only requests for this domain. */
  domain?: string
  /** Retry-After header value to send. */
  retryAfter?: string
  /** Extra headers (e.g. X-RateLimit-Reset). */
  headers?: Record<string, string>
  /** Raw body; default: a Mailgun-like body for the status. */
  body?: string
}

interface ActiveFault { spec: FaultSpec, left: number, until: number }

export class Faults {
  #faults: ActiveFault[] = []
  delayMs = 0
  dropNext = 0
  /** Date header to send; null: the real current time. */
  date: string | null = null

  add (spec: FaultSpec, now: number): void {
    this.#faults.push({ spec, left: spec.count ?? Infinity, until: spec.forMs !== undefined ? now + spec.forMs : Infinity })
  }

  clear (): void {
    this.#faults = []
    this.delayMs = 0
    this.dropNext = 0
    this.date = null
  }

  /** The fault that answers this request, spending one of its uses; null: answer normally. */
  take (domain: string, now: number): FaultSpec | null {
    this.#faults = this.#faults.filter((f) => f.left > 0 && f.until > now)
    const f = this.#faults.find((x) => x.spec.domain === undefined || x.spec.domain === domain)
    if (!f) return null
    f.left -= 1
    return f.spec
  }
}

/** Mailgun's bodies for the statuses faults produce (reference: mailgun-api.md §3). */
export function faultBody (status: number, domain: string, now: number): { type: string, body: string } {
  if (status === 401) return { type: 'text/plain; charset=utf-8', body: 'Forbidden' }
  const message = status === 429 || status === 420
    ? `Domain ${domain} is not allowed to send: request limit exceeded, try again after ${new Date(now + 60_000).toUTCString().replace('GMT', 'UTC')}`
    : status === 400 ? "'from' parameter is missing"
      : status === 404 ? `Domain not found: ${domain}`
        : status === 403 ? `Domain ${domain} is not allowed to send: Free accounts are for test purposes only.`
          : status >= 500 ? 'Internal Server Error' : `Error ${status}`
  return { type: 'application/json; charset=utf-8', body: JSON.stringify({ message }) }
}
