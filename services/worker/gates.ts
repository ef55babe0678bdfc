/**
 * What may be sent now, per region: domain holds (key rejected), the region's outage hold with
 * its probe, and the per-domain rate. Holds are shared through Redis and cached here (refreshed
 * every second), so the hot path reads memory; only rate-limited domains cost a round trip.
 */
import { createHash } from 'node:crypto'
import type { Config, DomainConfig, Region } from '../../shared/config.js'
import type { Clock } from '../../shared/clock.js'
import type { Hold, HoldStore } from '../../shared/holds.js'
import type { Logger } from '../../shared/logger.js'
import type { JobData } from '../../shared/queues.js'
import type { DomainRate } from './domain-rate.js'
import { createOutageTracker, isOutageAnswer } from './outage.js'
import type { Decision, ProviderAnswer } from './send-policy.js'

export type Gate =
  | { kind: 'go', probe: boolean }
  /** hold: record the message as held (no attempt spent); null: a rate deferral, recorded nowhere. */
  | { kind: 'defer', until: number, hold: Hold | null, rememberDomain: boolean }
  | { kind: 'fail', reason: string }

const GO: Gate = Object.freeze({ kind: 'go', probe: false })

export interface GateOptions {
  region: Region
  config: Config
  holds: HoldStore
  rate: DomainRate
  clock: Clock
  random: () => number
  logger: Logger
}

export interface Gates {
  check(job: JobData): Promise<Gate>
  /** Feeds one attempt's answer back: outage tracking, holds, 429 slow-down. */
  observe(job: JobData, answer: ProviderAnswer, decision: Decision, probe: boolean): Promise<void>
  /** Epoch ms of the next region probe (where a failed probe's message waits). */
  nextProbeAt(): number
  close(): void
}

/** Consecutive 5xx/transport failures that hold a region. */
const OUTAGE_THRESHOLD = 5
const PROBE_BASE_MS = 1000
const PROBE_CAP_MS = 10_000
/** Held messages return spread over this much after a probe time, so a resume ramps up. */
const RAMP_SPREAD_MS = 2000
/** A domain-held message comes back this late at the latest; a resume promotes it at once. */
const DOMAIN_HOLD_RECHECK_MS = 5 * 60_000
/** How long a 429 halves a domain's rate. */
const SLOW_DOWN_MS = 60_000
const REFRESH_MS = 1000

/** Short hash of what a domain hold depends on; a new key or region makes it stale. */
export function domainFingerprint (d: DomainConfig): string {
  return createHash('sha256').update(`${d.region}\n${d.sendingKey.reveal()}`).digest('hex').slice(0, 16)
}

export async function createGates (o: GateOptions): Promise<Gates> {
  const { region, config, holds, rate, clock, random } = o
  const tracker = createOutageTracker({ threshold: OUTAGE_THRESHOLD, probeBaseMs: PROBE_BASE_MS, probeCapMs: PROBE_CAP_MS })
  const outageLimitMs = config.outageLimitHours * 3_600_000
  let cache = new Map<string, Hold>()
  let probeInFlight = false
  let probesDone = 0
  let nextProbeAt = 0

  async function refresh (): Promise<void> {
    cache = await holds.all()
    // Another process (or an operator) ended the region hold: follow it.
    if (!cache.has(`region:${region}`) && tracker.isHeld()) tracker.recordSuccess()
  }
  await releaseStaleDomainHolds()
  await refresh()
  const timer = setInterval(() => { refresh().catch((err: unknown) => o.logger.warn({ err }, 'hold refresh failed')) }, REFRESH_MS)
  timer.unref()

  /** A domain held under another key or region than configured now: the operator fixed it. */
  async function releaseStaleDomainHolds (): Promise<void> {
    for (const [field, hold] of await holds.all()) {
      const domain = config.domains.get(field.slice('domain:'.length))
      if (field.startsWith('domain:') && domain?.region === region && hold.fingerprint && hold.fingerprint !== domainFingerprint(domain)) {
        o.logger.info({ domain: domain.name }, 'domain hold released: its key or region changed')
        await holds.release('domain', domain.name)
      }
    }
  }

  const regionHold = (): Hold | undefined => cache.get(`region:${region}`)

  return {
    async check (job) {
      const now = clock.now()
      if (cache.size > 0) {
        // The cache may be a second old: a resume promotes held jobs at once, so confirm before
        // deferring again (only held domains pay this round trip).
        const domainHold = cache.has(`domain:${job.domain}`) ? await holds.get('domain', job.domain) : null
        if (domainHold) return { kind: 'defer', until: now + DOMAIN_HOLD_RECHECK_MS, hold: domainHold, rememberDomain: true }
        cache.delete(`domain:${job.domain}`)
      }
      const held = regionHold()
      if (held || tracker.isHeld()) {
        if (now - job.createdAt > outageLimitMs) return { kind: 'fail', reason: `region ${region} held longer than the outage limit (${config.outageLimitHours} h)` }
        if (!probeInFlight && now >= nextProbeAt) {
          probeInFlight = true
          return { kind: 'go', probe: true }
        }
        const hold = held ?? { reason: `region ${region} is failing`, since: new Date(now).toISOString() }
        // Spread the return, so a resume ramps up instead of stampeding.
        const until = Math.max(nextProbeAt, now) + Math.floor(random() * RAMP_SPREAD_MS)
        return { kind: 'defer', until, hold, rememberDomain: false }
      }
      const domain = config.domains.get(job.domain)
      if (domain?.ratePerSecond) {
        const wait = await rate.take(job.domain, domain.ratePerSecond, now)
        if (wait > 0) return { kind: 'defer', until: now + wait, hold: null, rememberDomain: false }
      }
      return GO
    },

    async observe (job, answer, decision, probe) {
      const now = clock.now()
      if (probe) probeInFlight = false
      if (isOutageAnswer(answer)) {
        const { justHeld } = tracker.recordFailure(now)
        if (justHeld) {
          probesDone = 0
          nextProbeAt = now + tracker.nextProbeDelayMs(0)
          const reason = `region ${region} keeps failing (${OUTAGE_THRESHOLD} failures in a row)`
          await holds.hold('region', region, reason, now)
          cache.set(`region:${region}`, { reason, since: new Date(now).toISOString() })
          o.logger.warn({ region }, 'region held: provider keeps failing')
        } else if (probe) {
          probesDone += 1
          nextProbeAt = now + tracker.nextProbeDelayMs(probesDone)
        }
      } else {
        const { resumed } = tracker.recordSuccess()
        if (resumed || (probe && regionHold())) {
          await holds.release('region', region)
          cache.delete(`region:${region}`)
          probesDone = 0
          nextProbeAt = 0
          o.logger.info({ region }, 'region resumed: provider answers again')
        }
      }
      if (decision.kind === 'fail' && decision.holdDomain) {
        const domain = config.domains.get(job.domain)
        const reason = `sending key rejected: ${decision.reason}`
        if (domain && await holds.hold('domain', job.domain, reason, now, domainFingerprint(domain))) {
          o.logger.warn({ domain: job.domain }, 'domain held: sending key rejected')
        }
        cache.set(`domain:${job.domain}`, { reason, since: new Date(now).toISOString() })
      }
      if (decision.kind === 'retry' && decision.slowDomain && config.domains.get(job.domain)?.ratePerSecond) {
        await rate.slowDown(job.domain, SLOW_DOWN_MS, now)
      }
    },

    nextProbeAt: () => nextProbeAt,
    close: () => clearInterval(timer)
  }
}
