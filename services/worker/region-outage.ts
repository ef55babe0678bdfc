/**
 * A region's outage hold, one state for every worker process (CONTRACT.md "Outage hold"). Each
 * process counts its own consecutive failures and, at the threshold, sets the region's hold in
 * Redis with its probe schedule (next probe time, probes failed). From then on every message of
 * the region is parked, and exactly one probe is in flight across all processes: a lease in Redis
 * (SET NX PX) names the message sent as the probe, whichever process takes it. A failed probe
 * moves the schedule on; a probe that gets an answer lifts the hold, and every parked message of
 * the region comes back over a short ramp, for every process at once.
 *
 * Region keys, one command (or one single-key script) at a time: on a Redis Cluster they may sit
 * in any slot. Only held regions cost round trips; the hot path reads the cached hold.
 */
import type { Config, Region } from '../../shared/config.js'
import type { Clock } from '../../shared/clock.js'
import { unpark, type Hold, type HoldStore } from '../../shared/holds.js'
import { luaScript } from '../../shared/lua/index.js'
import type { Logger } from '../../shared/logger.js'
import type { JobData } from '../../shared/queues.js'
import type { RedisClient } from '../../shared/redis.js'
import type { RegionLink } from '../../shared/region-link.js'
import { createOutageTracker, isOutageAnswer } from './outage.js'
import type { ProviderAnswer } from './send-policy.js'

export type RegionGate =
  | { kind: 'go', probe: boolean }
  | { kind: 'park', hold: Hold, until: number }
  | { kind: 'fail', reason: string }

export interface RegionOutage {
  check(job: JobData): Promise<RegionGate>
  /** One attempt's answer: outage detection, and a probe's result. */
  observe(job: JobData, answer: ProviderAnswer, probe: boolean): Promise<void>
  /** The probe job ended without a send (settled from its events, or parked by its domain): let another probe go. */
  probeSkipped(job: JobData): Promise<void>
  /** When a message parked for the region's hold comes back by itself: the recheck, or its outage limit. */
  parkUntil(job: JobData): number
  /** The holds as the last refresh read them. */
  refreshed(holds: ReadonlyMap<string, Hold>): void
  close(): void
}

export interface RegionOutageOptions {
  region: Region
  config: Config
  link: RegionLink
  holds: HoldStore
  clock: Clock
  logger: Logger
}

/** Consecutive 5xx/transport failures that hold a region. */
const OUTAGE_THRESHOLD = 5
const PROBE_BASE_MS = 1000
const PROBE_CAP_MS = 10_000
/** How often a process looks whether a probe is due while its region is held. */
const PROBE_TICK_MS = 250
/** A probe's lease outlives its send (SEND_TIMEOUT_MS) by this much; a crashed prober's lease then lapses. */
const LEASE_MARGIN_MS = 10_000
/**
 * A parked message comes back by itself after this long at the latest, even if the release that
 * should have promoted it never came (a process that stopped half way): held still, it parks again
 * without a record line.
 */
export const PARK_RECHECK_MS = 10 * 60_000
/** With no hold at all, how often a process looks for parked messages a broken release left behind. */
const SWEEP_MS = 60_000
const DELETE_IF_EQUALS = 'mqDeleteIfEquals'
type LeaseCommands = Record<typeof DELETE_IF_EQUALS, (key: string, value: string) => Promise<number>>

export function createRegionOutage (o: RegionOutageOptions): RegionOutage {
  const { region, config, link, holds, clock } = o
  if (!(DELETE_IF_EQUALS in link.storeRedis)) link.storeRedis.defineCommand(DELETE_IF_EQUALS, { numberOfKeys: 1, lua: luaScript('deleteIfEquals-1.lua') })
  const redis = link.storeRedis as RedisClient & LeaseCommands
  const tracker = createOutageTracker({ threshold: OUTAGE_THRESHOLD, probeBaseMs: PROBE_BASE_MS, probeCapMs: PROBE_CAP_MS })
  const outageLimitMs = config.outageLimitHours * 3_600_000
  const leaseMs = config.sendTimeoutMs + LEASE_MARGIN_MS
  const field = `region:${region}`
  let held: Hold | null = null
  let anyHold = false
  let lastSweep = clock.now()
  let ticking = false

  const giveBack = async (id: string): Promise<void> => { await redis[DELETE_IF_EQUALS](link.keys.probeLease, id) }

  /** A probe is due and nobody probes: promote the region's longest-parked message as the probe. */
  async function probeIfDue (): Promise<void> {
    const now = clock.now()
    if (held === null) {
      if (!anyHold && now - lastSweep >= SWEEP_MS) {
        lastSweep = now
        await sweep()
      }
      return
    }
    if (now < (held.probeAt ?? 0) || await redis.exists(link.keys.probeLease) === 1) return
    // The cached schedule may be a second old: a probe that just failed moved it on.
    held = await holds.get('region', region)
    if (held === null || now < (held.probeAt ?? 0)) return
    for (const partition of link.partitions()) {
      const [id] = await redis.zrange(partition.keys.held, 0, 0)
      if (id === undefined) continue
      if (await redis.set(link.keys.probeLease, id, 'PX', leaseMs, 'NX') !== 'OK') return
      await unpark(partition, redis, [id], 0)
      return
    }
  }

  async function sweep (): Promise<void> {
    const counts = await Promise.all(link.partitions().map(async (p) => await redis.zcard(p.keys.held)))
    if (counts.every((n) => n === 0) || (await holds.all()).size > 0) return
    o.logger.info({ region, parked: counts.reduce((a, b) => a + b, 0) }, 'parked messages without a hold: sending them')
    await holds.releaseParked(0)
  }

  const timer = setInterval(() => {
    if (ticking) return
    ticking = true
    probeIfDue().catch((err: unknown) => o.logger.warn({ err, region }, 'probe scheduling failed')).finally(() => { ticking = false })
  }, PROBE_TICK_MS)
  timer.unref()

  async function probeFailed (job: JobData, now: number): Promise<void> {
    const hold = await holds.get('region', region)
    if (hold) {
      const probes = (hold.probes ?? 0) + 1
      held = { ...hold, probes, probeAt: now + tracker.nextProbeDelayMs(probes) }
      await holds.update('region', region, held)
    }
    // Given back only once the schedule moved on, so that no process probes again at once.
    await giveBack(job.id)
  }

  return {
    async check (job) {
      if (held === null && !tracker.isHeld()) return GO
      // The cache may be a second old: confirm before parking (a release promotes parked jobs once).
      const hold = await holds.get('region', region)
      held = hold
      if (hold === null) {
        if (tracker.isHeld()) tracker.recordSuccess()
        return GO
      }
      const now = clock.now()
      if (now >= dueSince(job) + outageLimitMs) return { kind: 'fail', reason: `region ${region} held longer than the outage limit (${config.outageLimitHours} h)` }
      const lease = await redis.get(link.keys.probeLease)
      if (lease === job.id) return PROBE
      if (lease === null && now >= (hold.probeAt ?? 0) && await redis.set(link.keys.probeLease, job.id, 'PX', leaseMs, 'NX') === 'OK') return PROBE
      return { kind: 'park', hold, until: this.parkUntil(job) }
    },

    parkUntil (job) {
      return Math.min(dueSince(job) + outageLimitMs, clock.now() + PARK_RECHECK_MS)
    },

    async observe (job, answer, probe) {
      const now = clock.now()
      if (isOutageAnswer(answer)) {
        const { justHeld } = tracker.recordFailure(now)
        if (probe) return await probeFailed(job, now)
        if (!justHeld) return
        const reason = `region ${region} keeps failing (${OUTAGE_THRESHOLD} failures in a row)`
        if (await holds.hold('region', region, reason, now, { probeAt: now + PROBE_BASE_MS, probes: 0 })) {
          o.logger.warn({ region }, 'region held: provider keeps failing')
        }
        held = await holds.get('region', region)
        return
      }
      tracker.recordSuccess()
      // Only a probe lifts the hold: any other answer while held is from a send that began before.
      if (!probe) return
      held = null
      await holds.release('region', region)
      await giveBack(job.id)
      o.logger.info({ region }, 'region resumed: provider answers again')
    },

    async probeSkipped (job) {
      await giveBack(job.id)
    },

    refreshed (all) {
      anyHold = all.size > 0
      held = all.get(field) ?? null
      // Another process (or an operator) ended the hold: follow it.
      if (held === null && tracker.isHeld()) tracker.recordSuccess()
    },

    close: () => clearInterval(timer)
  }
}

/** The outage limit counts from when a message was due: its creation, or its sendAt. */
const dueSince = (job: JobData): number => Math.max(job.createdAt, job.sendAt ?? 0)
const GO: RegionGate = Object.freeze({ kind: 'go', probe: false })
const PROBE: RegionGate = Object.freeze({ kind: 'go', probe: true })
