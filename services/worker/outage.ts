/**
 * Region outage tracker (CONTRACT.md "Outage hold"): after `threshold` consecutive outage failures
 * the region is held; waiting messages spend no attempts, and probes at growing intervals resume
 * it. Pure state, no timers and no clock reads: the worker feeds it answers and schedules probes.
 */
import type { ProviderAnswer } from './send-policy.js'

export interface OutageOptions {
  /** Consecutive outage failures (5xx, transport) that hold the region, e.g. 10. */
  threshold: number
  /** First probe interval while held, in milliseconds. */
  probeBaseMs: number
  /** Largest probe interval, in milliseconds. */
  probeCapMs: number
}

export interface OutageTracker {
  /** An outage failure. `justHeld` is true only on the failure that crossed the threshold. */
  recordFailure (now: number): { held: boolean; justHeld: boolean }
  /** Any answer that shows the region is up (status below 500). `resumed` when it ends a hold. */
  recordSuccess (): { resumed: boolean }
  isHeld (): boolean
  /** Epoch ms of the failure that held the region; null while not held. */
  heldSince (): number | null
  /** Wait before the next probe: probeBaseMs * 2^probesDone, capped at probeCapMs. */
  nextProbeDelayMs (probesDone: number): number
}

/**
 * Which answers count toward an outage: 5xx and transport failures. 4xx (even 401/429) prove the
 * region answers, so they count as successes here; the send policy deals with them per message.
 */
export function isOutageAnswer (answer: ProviderAnswer): boolean {
  return answer.kind === 'transport' || answer.status >= 500
}

export function createOutageTracker (opts: OutageOptions): OutageTracker {
  if (!(opts.threshold >= 1)) throw new RangeError('outage threshold must be at least 1')
  let consecutive = 0
  let since: number | null = null
  return {
    recordFailure (now) {
      consecutive += 1
      if (since !== null) return { held: true, justHeld: false }
      if (consecutive < opts.threshold) return { held: false, justHeld: false }
      since = now
      return { held: true, justHeld: true }
    },
    recordSuccess () {
      consecutive = 0
      const resumed = since !== null
      since = null
      return { resumed }
    },
    isHeld: () => since !== null,
    heldSince: () => since,
    nextProbeDelayMs: (probesDone) => Math.min(opts.probeCapMs, opts.probeBaseMs * 2 ** Math.max(0, probesDone))
  }
}
