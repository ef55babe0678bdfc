/**
 * NAIVE BASELINE — not mailqueue. The BullMQ queue the naive pipeline shares between its route,
 * its worker and the benchmark (which fills it directly for the drain scenario). Its own queue
 * name, so it never touches mailqueue's keys.
 */
import { Queue, type JobsOptions } from 'bullmq'
import type { RedisOptions } from 'ioredis'

export const NAIVE_QUEUE = 'bench-naive-send'

/** What a careful user sets: no completed jobs kept, a few failed ones for inspection. */
export const NAIVE_JOB_OPTIONS: JobsOptions = { removeOnComplete: true, removeOnFail: 1000, attempts: 3 }

/** Connection options (not an instance), so BullMQ owns the connections and closes them. */
export function naiveConnection (url: string): RedisOptions {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0), maxRetriesPerRequest: null }
}

export function naiveQueue (url: string): Queue {
  const queue = new Queue(NAIVE_QUEUE, { connection: naiveConnection(url), defaultJobOptions: NAIVE_JOB_OPTIONS })
  queue.on('error', () => {})
  return queue
}

/** The Message-Id the naive worker sends for a job, so the benchmark can match arrivals to answers. */
export function naiveMessageId (jobId: string): string {
  return `<naive-${jobId}@bench.test>`
}
