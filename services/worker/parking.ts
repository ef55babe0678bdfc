/**
 * Parking: a message that meets a hold becomes a delayed job due far later (PARK_RECHECK_MS, or
 * its outage limit) and a member of its partition's held index, with one `held` record line when
 * it becomes held (the record script writes no line for a message already in the index). A
 * release promotes it (shared/holds.ts); while the hold lasts it never churns through the queue.
 */
import { DelayedError } from 'bullmq'
import { unpark, type Hold, type HoldScope, type HoldStore } from '../../shared/holds.js'
import type { HistoryEntry } from '../../shared/records.js'
import type { Recorder } from './recorder.js'
import type { RegionOutage } from './region-outage.js'
import type { Run } from './run.js'

export interface Parking {
  /** Parks a job until `until` (epoch ms) or its hold's release; `entry`: the attempt that led here (a failed probe). */
  park(run: Run, hold: Hold, scope: HoldScope, until: number, entry?: Omit<HistoryEntry, 'at'>): Promise<never>
}

export function createParking (o: { recorder: Recorder, holds: HoldStore, outage: RegionOutage }): Parking {
  return {
    async park (run, hold, scope, until, entry) {
      const { job, data: d } = run
      await o.recorder.record(run, { status: 'held', attempts: job.attemptsMade, error: hold.reason, held: 'enter', ...(entry ? { entry } : {}) })
      if (scope === 'domain') {
        await o.holds.rememberHeld(d.domain, d.id)
        // The region's probe may have been this message: it met its domain's hold instead.
        await o.outage.probeSkipped(d)
      }
      await job.moveToDelayed(until, run.token)
      // A release between the check and the move found nothing to promote: look again now.
      if (await o.holds.get(scope, scope === 'domain' ? d.domain : run.region) === null) {
        await unpark(run.partition, run.link.storeRedis, [d.id], 0)
      }
      throw new DelayedError()
    }
  }
}
