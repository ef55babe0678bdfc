/**
 * What may be sent now, per region: domain holds (key rejected, paused by hand), the region's
 * outage hold with its probe (region-outage.ts), and the per-domain rate. Holds are shared through
 * Redis and cached here (refreshed every second), so the hot path reads memory; only held
 * messages and rate-limited domains cost round trips.
 */
import { createHash } from 'node:crypto'
import type { Config, DomainConfig, Region } from '../../shared/config.js'
import type { Clock } from '../../shared/clock.js'
import type { Hold, HoldScope, HoldStore } from '../../shared/holds.js'
import type { Logger } from '../../shared/logger.js'
import type { JobData } from '../../shared/queues.js'
import type { DomainRate } from './domain-rate.js'
import { PARK_RECHECK_MS, type RegionOutage } from './region-outage.js'
import type { Decision, ProviderAnswer } from './send-policy.js'

export type HoldGate =
  | { kind: 'go', probe: boolean }
  /** Park the message (no attempt spent) until `until` or the hold's release. */
  | { kind: 'park', hold: Hold, scope: HoldScope, until: number }
  | { kind: 'fail', reason: string }

export interface GateOptions {
  region: Region
  config: Config
  holds: HoldStore
  outage: RegionOutage
  rate: DomainRate
  clock: Clock
  logger: Logger
}

export interface Gates {
  /** Holds: may this message go (as the region's probe, perhaps), or must it park? */
  hold(job: JobData): Promise<HoldGate>
  /** The domain's rate: 0 when the send may go now, else the epoch ms to try again (nothing recorded). */
  rate(job: JobData): Promise<number>
  /** Feeds one attempt's answer back: outage tracking, holds, 429 slow-down. */
  observe(job: JobData, answer: ProviderAnswer, decision: Decision, probe: boolean): Promise<void>
  close(): void
}

/** How long a 429 halves a domain's rate. */
const SLOW_DOWN_MS = 60_000
const REFRESH_MS = 1000

/** Short hash of what a domain hold depends on; a new key or region makes it stale. */
export function domainFingerprint (d: DomainConfig): string {
  return createHash('sha256').update(`${d.region}\n${d.sendingKey.reveal()}`).digest('hex').slice(0, 16)
}

export async function createGates (o: GateOptions): Promise<Gates> {
  const { region, config, holds, outage, rate, clock } = o
  let cache = new Map<string, Hold>()

  async function refresh (): Promise<void> {
    cache = await holds.all()
    outage.refreshed(cache)
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

  return {
    async hold (job) {
      if (cache.size > 0 && cache.has(`domain:${job.domain}`)) {
        // The cache may be a second old: a resume promotes parked jobs once, so confirm first.
        const domainHold = await holds.get('domain', job.domain)
        if (domainHold) return { kind: 'park', hold: domainHold, scope: 'domain', until: clock.now() + PARK_RECHECK_MS }
        cache.delete(`domain:${job.domain}`)
      }
      const gate = await outage.check(job)
      return gate.kind === 'park' ? { kind: 'park', hold: gate.hold, scope: 'region', until: gate.until } : gate
    },

    async rate (job) {
      const perSecond = config.domains.get(job.domain)?.ratePerSecond
      if (!perSecond) return 0
      const now = clock.now()
      const wait = await rate.take(job.domain, perSecond, now, job.lane)
      return wait > 0 ? now + wait : 0
    },

    async observe (job, answer, decision, probe) {
      await outage.observe(job, answer, probe)
      const now = clock.now()
      if (decision.kind === 'fail' && decision.holdDomain) {
        const domain = config.domains.get(job.domain)
        const reason = `sending key rejected: ${decision.reason}`
        if (domain && await holds.hold('domain', job.domain, reason, now, { fingerprint: domainFingerprint(domain) })) {
          o.logger.warn({ domain: job.domain }, 'domain held: sending key rejected')
        }
        cache.set(`domain:${job.domain}`, { reason, since: new Date(now).toISOString() })
      }
      if (decision.kind === 'retry' && decision.slowDomain && config.domains.get(job.domain)?.ratePerSecond) {
        await rate.slowDown(job.domain, SLOW_DOWN_MS, now)
      }
    },

    close () {
      clearInterval(timer)
      outage.close()
    }
  }
}
