/**
 * The BullMQ Workers of one region: one per partition of every queue layout the region was ever
 * written with (so changing QUEUE_PARTITIONS strands nothing), the consumer heartbeat, and
 * pausing, resuming and stopping them all.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker, type Job } from 'bullmq'
import type { Config } from '../../shared/config.js'
import type { Clock } from '../../shared/clock.js'
import type { Logger } from '../../shared/logger.js'
import { queueName, type StoredJob } from '../../shared/queues.js'
import type { Partition, RegionLink } from '../../shared/region-link.js'
import { RetryLater } from './run.js'

export type Processor = (job: Job<StoredJob>, token: string | undefined, partition: Partition) => Promise<void>

export interface Serving {
  /** Starts the workers of every known layout; resolves once their connections are up. */
  start(): Promise<void>
  /** No new job until resume (the jobs in flight go on). */
  pause(): void
  resume(): void
  /** Stops taking jobs and resolves once the jobs in flight are done. Idempotent. */
  stop(): Promise<void>
}

export interface ServingOptions {
  link: RegionLink
  config: Config
  clock: Clock
  log: Logger
  process: Processor
}

/** How often a worker looks for queue layouts registered since it started (QUEUE_PARTITIONS changed). */
const LAYOUT_WATCH_MS = 10_000

interface Served { worker: Worker, cluster: boolean }

export function createServing (o: ServingOptions): Serving {
  const { link, config, clock, log } = o
  const workers: Served[] = []
  let watch: NodeJS.Timeout | undefined
  let stopping: Promise<void> | null = null

  // The consumer heartbeat /readyz reads: at most one write a second, only while jobs finish.
  let lastBeat = 0
  const beat = (): void => {
    const now = clock.now()
    if (now - lastBeat < 1000) return
    lastBeat = now
    link.storeRedis.set(link.keys.progress, String(now)).catch((err: unknown) => log.warn({ err }, 'heartbeat failed'))
  }

  /** A BullMQ Worker for one partition; the region's share of WORKER_CONCURRENCY. */
  function partitionWorker (partition: Partition): Served {
    const concurrency = Math.max(1, Math.ceil(config.workerConcurrency / link.current.length))
    const cluster = link.queueRedis.isCluster
    const worker = new Worker<StoredJob>(queueName(link.region), (job, token) => o.process(job, token, partition), {
      connection: link.queueRedis,
      prefix: partition.keys.space,
      concurrency,
      autorun: false,
      // Seconds an idle worker blocks waiting for a job; on a cluster also how long stopping takes.
      ...(cluster ? { drainDelay: 1 } : {}),
      // A crashed worker's jobs come back; only a job that keeps crashing workers is given up.
      maxStalledCount: 10,
      lockDuration: config.lockDurationMs,
      stalledInterval: config.stalledIntervalMs,
      removeOnComplete: { count: 0 },
      // Failed jobs stay for replay (POST /v1/messages/:id/retry) as long as their record lives.
      removeOnFail: { age: Math.round(config.outcomeTtlDays * 86400) },
      settings: { backoffStrategy: (_made: number, _type?: string, err?: Error) => (err as RetryLater | undefined)?.delayMs ?? config.backoffBaseMs }
    })
    worker.on('error', (err) => log.error({ err }, 'worker error'))
    worker.on('completed', beat)
    worker.on('failed', beat)
    worker.run().catch((err: unknown) => log.error({ err }, 'worker stopped'))
    return { worker, cluster }
  }

  /** Resolves once the new workers' connections are up (closing one still connecting leaks a rejection). */
  async function serve (partitions: readonly Partition[]): Promise<void> {
    const started = partitions.map(partitionWorker)
    workers.push(...started)
    await Promise.all(started.map((s) => s.worker.waitUntilReady()))
  }

  return {
    async start () {
      await serve(link.current)
      await serve(await link.refreshLayouts())
      watch = setInterval(() => {
        link.refreshLayouts().then(serve).catch((err: unknown) => log.warn({ err }, 'serving new queue layouts failed'))
      }, LAYOUT_WATCH_MS)
      watch.unref()
    },
    pause () {
      for (const s of workers) s.worker.pause(true).catch((err: unknown) => log.error({ err }, 'pausing failed'))
    },
    resume () {
      if (stopping === null) for (const s of workers) s.worker.resume()
    },
    stop () {
      clearInterval(watch)
      stopping ??= Promise.allSettled(workers.map(stopWorker)).then(() => {})
      return stopping
    }
  }
}

/**
 * Stops a partition's worker once its sends in flight are done. On a Redis Cluster BullMQ 5.81's
 * graceful close() disconnects the blocking client under its in-flight BZPOPMIN, and BullMQ's own
 * cluster recovery then reconnects it behind close()'s back, leaving node sockets open that keep
 * the process alive. There: pause (no new job; the BZPOPMIN returns within drainDelay), wait for
 * the loop to finish its jobs, then close without waiting, as nothing is left to wait for.
 */
async function stopWorker ({ worker, cluster }: Served): Promise<void> {
  if (!cluster) return await worker.close()
  await worker.pause(true)
  // The loop may have been restarted since it was started (a pause while outcomes could not be
  // stored), so its state is asked rather than its first promise awaited.
  while (worker.isRunning()) await sleep(50)
  await worker.close(true)
}
