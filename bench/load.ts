import autocannon, { type Result } from 'autocannon'
import { Pool } from 'undici'

export interface CannonOptions {
  url: string
  path: string
  headers?: Record<string, string>
  body: string
  connections: number
  /** Seconds measured. */
  duration: number
  /** Seconds of the same load first, thrown away (JIT, connection set-up, Redis warm-up). */
  warmup?: number
}

export interface CannonResult {
  /** Mean of the per-second samples, every status. */
  reqPerSec: number
  /** Answers with `okStatus`, per second of the run. */
  okPerSec: number
  ok: number
  total: number
  p50Ms: number
  p99Ms: number
  /** Connection errors and timeouts. */
  errors: number
  /** Answers other than `okStatus`. */
  badStatus: number
  statusCodes: Record<string, number>
  durationSec: number
}

async function cannon (opts: CannonOptions, duration: number): Promise<Result> {
  return await autocannon({
    url: opts.url + opts.path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: opts.body,
    connections: opts.connections,
    duration,
    timeout: 10
  })
}

/** Closed-loop load with autocannon (as a library): `connections` requests always in flight. */
export async function runCannon (opts: CannonOptions, okStatus = 202): Promise<CannonResult> {
  if (opts.warmup) await cannon(opts, opts.warmup)
  const r = await cannon(opts, opts.duration)
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, v]) => [code, Number(v.count)]))
  const ok = statusCodes[String(okStatus)] ?? 0
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0)
  return {
    reqPerSec: r.requests.average,
    okPerSec: ok / r.duration,
    ok,
    total,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    badStatus: total - ok,
    statusCodes,
    durationSec: r.duration
  }
}

export interface JsonAnswer { status: number, body: unknown }

/** A small undici pool for the bench's own requests (enqueueing, paced load). */
export class JsonClient {
  private readonly pool: Pool

  constructor (readonly url: string, private readonly headers: Record<string, string> = {}, connections = 20) {
    this.pool = new Pool(url, { connections })
  }

  async post (path: string, body: unknown): Promise<JsonAnswer> {
    const res = await this.pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.headers },
      body: JSON.stringify(body)
    })
    const text = await res.body.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch { /* keep text */ }
    return { status: res.statusCode, body: parsed }
  }

  async close (): Promise<void> {
    await this.pool.close()
  }
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` in flight. */
export async function inParallel (n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < n) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, lane))
}

/**
 * Open-loop load at a steady rate: starts `rate` calls per second, evenly spread (checked every
 * `tickMs`), for `seconds`, whatever the answers do; resolves when every call has settled.
 */
export async function paced (rate: number, seconds: number, call: (i: number) => Promise<void>, tickMs = 5): Promise<{ started: number, elapsedMs: number }> {
  const total = Math.round(rate * seconds)
  const inflight: Array<Promise<void>> = []
  const t0 = performance.now()
  let started = 0
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate))
      while (started < due) inflight.push(call(started++))
      if (started >= total) { clearInterval(timer); resolve() }
    }
    const timer = setInterval(tick, tickMs)
    tick()
  })
  const elapsedMs = performance.now() - t0
  await Promise.allSettled(inflight)
  return { started, elapsedMs }
}

/** Median (mean of the middle two for an even count); NaN for none. */
export function median (values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] ?? NaN : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

/** `xs` rotated left by `k`: round k starts with a different subject, so none always goes first. */
export function rotate<T> (xs: readonly T[], k: number): T[] {
  const n = k % xs.length
  return [...xs.slice(n), ...xs.slice(0, n)]
}

/**
 * Rounds of one subject folded into one figure: throughput and latencies are the median over
 * rounds, errors and counts the sum. Every round stays in `rounds`.
 */
export interface RoundsResult extends CannonResult { rounds: CannonResult[] }

export function foldRounds (rounds: CannonResult[]): RoundsResult {
  const sum = (f: (r: CannonResult) => number): number => rounds.reduce((a, r) => a + f(r), 0)
  const statusCodes: Record<string, number> = {}
  for (const r of rounds) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n
  return {
    reqPerSec: median(rounds.map((r) => r.reqPerSec)),
    okPerSec: median(rounds.map((r) => r.okPerSec)),
    ok: sum((r) => r.ok),
    total: sum((r) => r.total),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    errors: sum((r) => r.errors),
    badStatus: sum((r) => r.badStatus),
    statusCodes,
    durationSec: sum((r) => r.durationSec),
    rounds
  }
}
