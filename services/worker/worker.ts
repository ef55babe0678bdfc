import { setTimeout as sleep } from 'node:timers/promises'
import { UnrecoverableError, Worker, type Job } from 'bullmq'
import type { Config, Region } from '../../shared/config.js'
import { systemClock, type Clock } from '../../shared/clock.js'
import { toIso as iso } from '../../shared/dates/index.js'
import { HoldStore } from '../../shared/holds.js'
import type { Logger } from '../../shared/logger.js'
import type { Metrics } from '../../shared/metrics.js'
import { jobDataOf, queueName, type StoredJob } from '../../shared/queues.js'
import type { Partition, RegionLink, RegionLinks } from '../../shared/region-link.js'
import { createDomainRate } from './domain-rate.js'
import { createGates, type Gates } from './gates.js'
import { basicAuth, type MailgunClient } from './mailgun-client.js'
import { isOutageAnswer } from './outage.js'
import { createParking, type Parking } from './parking.js'
import { createProviderEvents, type ProviderEvents } from './provider-events.js'
import { createRecorder, type Recorder, type Step } from './recorder.js'
import { createRegionOutage, type RegionOutage } from './region-outage.js'
import { deferRun, type Run } from './run.js'
import { decide, type Decision, type PolicyOptions, type ProviderAnswer } from './send-policy.js'
import { createVerification, mayHaveReachedMailgun, type Settled, type Verification } from './verification.js'

export interface WorkerDeps {
  config: Config
  /** Opened with the 'worker' role for the regions this worker serves. */
  links: RegionLinks
  logger: Logger
  client: MailgunClient
  /** Send latency and duplicates avoided are counted here when given. */
  metrics?: Metrics
  clock?: Clock
  random?: () => number
}

export interface RunningWorker {
  /** Stops taking jobs, lets sends in flight finish and their outcomes be stored, then resolves. Idempotent. */
  close(): Promise<void>
}

/** A BullMQ Worker of one partition. */
interface Served { worker: Worker, cluster: boolean }

/** How often a worker looks for queue layouts registered since it started (QUEUE_PARTITIONS changed). */
const LAYOUT_WATCH_MS = 10_000

/** A retry that spends an attempt; BullMQ's backoff strategy reads the delay the policy chose. */
class RetryLater extends Error {
  override readonly name = 'RetryLater'
  constructor (message: string, readonly delayMs: number) { super(message) }
}

interface RegionContext {
  region: Region
  link: RegionLink
  gates: Gates
  outage: RegionOutage
  parking: Parking
  verification: Verification
  recorder: Recorder
  log: Logger
}

/**
 * A BullMQ Worker per partition of each served region: takes a job through its gates (holds,
 * verification of an earlier attempt, rate), sends it, and turns the policy's Decision into a
 * record and a queue move.
 */
export async function startWorker (deps: WorkerDeps): Promise<RunningWorker> {
  const { config, links, client, clock = systemClock, random = Math.random } = deps
  const log = deps.logger.child({ component: 'worker' })
  // Authorization headers and policies per domain, built once; a job only ever gets its own domain's key.
  const auth = new Map([...config.domains.values()].map((d) => [d.name, basicAuth(d.sendingKey.reveal())]))
  const policies = new Map([...config.domains.values()].map((d): [string, PolicyOptions] => [d.name, {
    maxAttempts: config.maxAttempts,
    backoffBaseMs: config.backoffBaseMs,
    backoffCapMs: config.backoffCapMs,
    ...(d.primaryKey ? { verifyAfterMs: config.verifyAfterMs } : {})
  }]))
  const events: ProviderEvents = createProviderEvents({ baseUrl: config.mailgunBase, timeoutMs: config.sendTimeoutMs })
  const served = config.workerRegions.filter((r) => links.links.has(r))
  let closing: Promise<void> | null = null

  const regions = await Promise.all(served.map(async (region) => {
    const link = links.get(region)
    const rlog = log.child({ region })
    const workers: Served[] = []
    const recorder = createRecorder({
      log: rlog,
      now: () => clock.now(),
      pause: () => { for (const s of workers) s.worker.pause(true).catch((err: unknown) => rlog.error({ err }, 'pausing failed')) },
      resume: () => { if (closing === null) for (const s of workers) s.worker.resume() }
    })
    const holds = new HoldStore(link)
    const outage = createRegionOutage({ region, config, link, holds, clock, logger: rlog })
    const gates = await createGates({
      region, config, holds, outage, rate: createDomainRate(link.storeRedis, link.keys.rate), clock, logger: rlog
    })
    const ctx: RegionContext = {
      region, link, gates, outage, recorder, log: rlog,
      parking: createParking({ recorder, holds, outage }),
      verification: createVerification({
        region, config, recorder, events, clock, logger: rlog,
        duplicateAvoided: (domain) => deps.metrics?.duplicatesAvoided.inc({ region, domain })
      })
    }
    // The consumer heartbeat /readyz reads: at most one write a second, only while jobs finish.
    let lastBeat = 0
    const beat = (): void => {
      const now = clock.now()
      if (now - lastBeat < 1000) return
      lastBeat = now
      link.storeRedis.set(link.keys.progress, String(now)).catch((err: unknown) => rlog.warn({ err }, 'heartbeat failed'))
    }
    /** Resolves once the new workers' connections are up (closing one still connecting leaks a rejection). */
    const serve = async (partitions: readonly Partition[]): Promise<void> => {
      const started = partitions.map((partition) => partitionWorker(partition, ctx, beat))
      workers.push(...started)
      await Promise.all(started.map((s) => s.worker.waitUntilReady()))
    }
    // Every layout the region was ever written with, so changing QUEUE_PARTITIONS strands nothing.
    await serve(link.current)
    await serve(await link.refreshLayouts())
    const watch = setInterval(() => {
      link.refreshLayouts().then(serve).catch((err: unknown) => rlog.warn({ err }, 'serving new queue layouts failed'))
    }, LAYOUT_WATCH_MS)
    watch.unref()
    return { workers, gates, recorder, watch }
  }))

  /** A BullMQ Worker for one partition; the region's share of WORKER_CONCURRENCY. */
  function partitionWorker (partition: Partition, ctx: RegionContext, beat: () => void): Served {
    const concurrency = Math.max(1, Math.ceil(config.workerConcurrency / ctx.link.current.length))
    const cluster = ctx.link.queueRedis.isCluster
    const worker = new Worker<StoredJob>(queueName(ctx.region), (job, token) => processJob(job, token, partition, ctx), {
      connection: ctx.link.queueRedis,
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
    worker.on('error', (err) => ctx.log.error({ err }, 'worker error'))
    worker.on('completed', beat)
    worker.on('failed', beat)
    worker.run().catch((err: unknown) => ctx.log.error({ err }, 'worker stopped'))
    return { worker, cluster }
  }

  async function processJob (job: Job<StoredJob>, token: string | undefined, partition: Partition, ctx: RegionContext): Promise<void> {
    const d = jobDataOf(job)
    const run: Run = { job, data: d, attempt: job.attemptsMade + 1, token, partition, region: ctx.region, link: ctx.link }
    if (d.sendAt !== null && job.attemptsStarted <= 1) {
      // Due now: it leaves the scheduled index. Only messages with a sendAt pay for this.
      ctx.link.storeRedis.zrem(partition.keys.scheduled, d.id).catch((err: unknown) => ctx.log.warn({ err, id: d.id }, 'scheduled index not updated'))
    }
    const authorization = auth.get(d.domain)
    if (authorization === undefined) return await fail(ctx, run, `domain ${d.domain} is not configured`, {})
    // Rare: a job back from a stall, or whose last answer was lost, reads its record first.
    const recalled = mayHaveReachedMailgun(job) ? await ctx.verification.recall(run) : null
    if (recalled !== null && recalled.kind !== 'send') return await finish(ctx, run, recalled)
    const gate = await ctx.gates.hold(d)
    // Only a parked message meets its outage limit: it leaves the held index.
    if (gate.kind === 'fail') return await fail(ctx, run, gate.reason, { held: 'leave' })
    if (gate.kind === 'park') return await ctx.parking.park(run, gate.hold, gate.scope, gate.until)
    if (recalled !== null) {
      const settled = await ctx.verification.verify(run, recalled.last)
      if (settled.kind !== 'send') {
        if (gate.probe) await ctx.outage.probeSkipped(d)
        return await finish(ctx, run, settled)
      }
    }
    const retryAt = await ctx.gates.rate(d)
    if (retryAt > 0) {
      if (gate.probe) await ctx.outage.probeSkipped(d)
      return await deferRun(run, retryAt)
    }

    const started = performance.now()
    const answer = await client.send(ctx.region, d, authorization)
    const decision = decide(answer, run.attempt, clock.now(), policies.get(d.domain) as PolicyOptions, random)
    deps.metrics?.sendSeconds.observe({ region: ctx.region, outcome: decision.kind }, (performance.now() - started) / 1000)
    await ctx.gates.observe(d, answer, decision, gate.probe)
    // A failed probe is the outage's cost, not the message's: it parks again, spending nothing.
    // (Unless Mailgun may have it: that attempt is checked in its events like any other.)
    if (gate.probe && isOutageAnswer(answer) && decision.kind !== 'verify') {
      const reason = `region ${ctx.region} probe failed: ${describe(answer)}`
      const entry = { attempt: run.attempt, outcome: 'retry' as const, status: answer.kind === 'http' ? answer.status : null, error: reason, nextAttemptAt: null }
      return await ctx.parking.park(run, { reason, since: iso(clock.now()) }, 'region', ctx.outage.parkUntil(d), entry)
    }
    await apply(ctx, run, decision, answer)
  }

  async function finish (ctx: RegionContext, run: Run, settled: Exclude<Settled, { kind: 'send' }>): Promise<void> {
    switch (settled.kind) {
      case 'done': return
      case 'wait': return await deferRun(run, settled.until)
      case 'fail': return await fail(ctx, run, settled.reason, settled.entry ? { entry: settled.entry } : null)
    }
  }

  /** Fails the job for good, recording it unless `step` is null (recorded already). */
  async function fail (ctx: RegionContext, run: Run, reason: string, step: Partial<Step> | null): Promise<never> {
    if (step) await ctx.recorder.record(run, { status: 'failed', attempts: step.entry?.attempt ?? run.job.attemptsMade, error: reason, ...step })
    throw new UnrecoverableError(reason)
  }

  async function apply (ctx: RegionContext, run: Run, decision: Decision, answer: ProviderAnswer): Promise<void> {
    const { attempt, job } = run
    const status = answer.kind === 'http' ? answer.status : null
    switch (decision.kind) {
      case 'sent':
        await ctx.recorder.record(run, { status: 'sent', attempts: attempt, error: null, answer, entry: { attempt, outcome: 'sent', status, error: null, nextAttemptAt: null } })
        return
      case 'fail':
        return await fail(ctx, run, decision.reason, { attempts: attempt, answer, entry: { attempt, outcome: 'failed', status, error: decision.reason, nextAttemptAt: null } })
      case 'retry': {
        const entry = { attempt, outcome: 'retry' as const, status, error: decision.reason, nextAttemptAt: iso(decision.notBefore) }
        // A 429 spends no attempt: the record's count stays where it was.
        await ctx.recorder.record(run, { status: 'retrying', attempts: decision.spendsAttempt ? attempt : attempt - 1, error: decision.reason, answer, entry })
        if (decision.spendsAttempt) throw new RetryLater(decision.reason, Math.max(0, decision.notBefore - clock.now()))
        return await deferRun(run, decision.notBefore)
      }
      case 'verify': {
        const entry = { attempt, outcome: 'retry' as const, status, error: decision.reason, nextAttemptAt: iso(decision.notBefore) }
        await ctx.recorder.record(run, { status: 'retrying', attempts: attempt, error: decision.reason, entry })
        // Checked even after the last attempt, where BullMQ would give the job up: this run's copy
        // of its options allows one more retry (nothing is written back). The reason becomes the
        // job's failedReason, by which its next run knows to check.
        if (job.attemptsMade + 1 >= (job.opts.attempts ?? 0)) job.opts.attempts = job.attemptsMade + 2
        throw new RetryLater(decision.reason, Math.max(0, decision.notBefore - clock.now()))
      }
    }
  }

  return {
    close () {
      closing ??= Promise.allSettled(regions.map(async ({ workers, gates, recorder, watch }) => {
        clearInterval(watch)
        await Promise.allSettled(workers.map(stopServing))
        await recorder.settled()
        gates.close()
      })).then(async () => { await events.close() })
      return closing
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
async function stopServing ({ worker, cluster }: Served): Promise<void> {
  if (!cluster) return await worker.close()
  await worker.pause(true)
  // The loop may have been restarted since it was started (a pause while outcomes could not be
  // stored), so its state is asked rather than its first promise awaited.
  while (worker.isRunning()) await sleep(50)
  await worker.close(true)
}

function describe (answer: ProviderAnswer): string {
  return answer.kind === 'http' ? `HTTP ${answer.status}` : answer.code
}
