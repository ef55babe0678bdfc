import { DelayedError, type Job } from 'bullmq'
import type { Region } from '../../shared/config.js'
import type { StoredJob } from '../../shared/queues.js'
import type { RegionLink } from '../../shared/region-link.js'
import type { RecordTarget } from './recorder.js'

/** One run of one job: what every step of it needs, the attempt number counted once. */
export interface Run extends RecordTarget {
  job: Job<StoredJob>
  token: string | undefined
  region: Region
  link: RegionLink
}

/** A retry that spends an attempt; BullMQ's backoff strategy (serving.ts) reads the delay the policy chose. */
export class RetryLater extends Error {
  override readonly name = 'RetryLater'
  constructor (message: string, readonly delayMs: number) { super(message) }
}

/** Later, without spending an attempt (holds, rate, a check not due yet): BullMQ's moveToDelayed + DelayedError. */
export async function deferRun (run: Run, until: number): Promise<never> {
  await run.job.moveToDelayed(until, run.token)
  throw new DelayedError()
}
