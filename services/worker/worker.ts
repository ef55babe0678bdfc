import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq'
import type { Config, Region } from '../../shared/config.js'
import { systemClock, type Clock } from '../../shared/clock.js'
import { parseRfc2822, toIso as iso } from '../../shared/dates/index.js'
import { dropFiles, loadFiles } from '../../shared/files.js'
import { HoldStore, type Hold } from '../../shared/holds.js'
import type { Logger } from '../../shared/logger.js'
import type { Metrics } from '../../shared/metrics.js'
import { jobDataOf, queueName, type JobData, type StoredJob } from '../../shared/queues.js'
import type { HistoryEntry, Outcome, ProviderInfo, Status } from '../../shared/records.js'
import type { Partition, RegionLink, RegionLinks } from '../../shared/region-link.js'
import { createDomainRate } from './domain-rate.js'
import { createGates, type Gate, type Gates } from './gates.js'
import { basicAuth, type MailgunClient } from './mailgun-client.js'
import { isOutageAnswer } from './outage.js'
import { decide, providerMessage, type Decision, type ProviderAnswer } from './send-policy.js'

export interface WorkerDeps {
  config: Config
  /** Opened with the 'worker' role for the regions this worker serves. */
  links: RegionLinks
  logger: Logger
  client: MailgunClient
  /** Send latency is observed here when given. */
  metrics?: Metrics
  clock?: Clock
  random?: () => number
}

export interface RunningWorker {
  /** Stops taking jobs, lets sends in flight finish, then resolves. Idempotent. */
  close(): Promise<void>
}

/** A BullMQ Worker of one partition and its run loop. */
interface Served { worker: Worker, running: Promise<void>, cluster: boolean }

/** How often a worker looks for queue layouts registered since it started (QUEUE_PARTITIONS changed). */
const LAYOUT_WATCH_MS = 10_000

/** A retry that spends an attempt; BullMQ's backoff strategy reads the delay the policy chose. */
class RetryLater extends Error {
  override readonly name = 'RetryLater'
  constructor (message: string, readonly delayMs: number) { super(message) }
}

/** One state change of a job, as the record gets it. */
interface Step {
  status: Status
  /** Attempts spent so far, including this one when it spent. */
  attempts: number
  error: string | null
  answer?: ProviderAnswer
  entry?: Omit<HistoryEntry, 'at'>
}

/** Where a job waits without spending an attempt; `hold` marks it held in its record. */
interface Deferral { until: number, hold: Hold | null, rememberDomain: boolean, entry?: Step['entry'] }


/** A BullMQ Worker per served region; turns gates and Decisions into queue moves and records. */
export async function startWorker (deps: WorkerDeps): Promise<RunningWorker> {
  const { config, links, client, clock = systemClock, random = Math.random } = deps
  const log = deps.logger.child({ component: 'worker' })
  // Authorization headers per domain, built once; a job only ever gets its own domain's key.
  const auth = new Map([...config.domains.values()].map((d) => [d.name, basicAuth(d.sendingKey.reveal())]))
  const policy = { maxAttempts: config.maxAttempts, backoffBaseMs: config.backoffBaseMs, backoffCapMs: config.backoffCapMs }
  const served = config.workerRegions.filter((r) => links.links.has(r))

  const regions = await Promise.all(served.map(async (region) => {
    const link = links.get(region)
    const rlog = log.child({ region })
    const holds = new HoldStore(link)
    const gates = await createGates({
      region, config, holds, rate: createDomainRate(link.storeRedis, link.keys.rate), clock, random, logger: rlog
    })
    const ctx: RegionContext = { region, link, holds, gates, log: rlog }
    // The consumer heartbeat /readyz reads: at most one write a second, only while jobs finish.
    let lastBeat = 0
    const beat = (): void => {
      const now = clock.now()
      if (now - lastBeat < 1000) return
      lastBeat = now
      link.storeRedis.set(link.keys.progress, String(now)).catch((err: unknown) => rlog.warn({ err }, 'heartbeat failed'))
    }
    const workers: Served[] = []
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
    return { workers, gates, watch }
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
    const running = worker.run().catch((err: unknown) => ctx.log.error({ err }, 'worker stopped'))
    return { worker, running, cluster }
  }

  interface RegionContext { region: Region, link: RegionLink, holds: HoldStore, gates: Gates, log: Logger }

  /** One attempt at one job: what every step of it needs, the attempt number counted once. */
  interface Run { job: Job<StoredJob>, data: JobData, attempt: number, token: string | undefined, partition: Partition, ctx: RegionContext }

  async function processJob (job: Job<StoredJob>, token: string | undefined, partition: Partition, ctx: RegionContext): Promise<void> {
    const d = jobDataOf(job)
    const run: Run = { job, data: d, attempt: job.attemptsMade + 1, token, partition, ctx }
    const authorization = auth.get(d.domain)
    const gate: Gate = authorization ? await ctx.gates.check(d) : { kind: 'fail', reason: `domain ${d.domain} is not configured` }
    if (gate.kind === 'fail') {
      await record(run, { status: 'failed', attempts: job.attemptsMade, error: gate.reason })
      throw new UnrecoverableError(gate.reason)
    }
    if (gate.kind === 'defer') return await defer(run, gate)

    const message = await loadFiles(ctx.link.storeRedis, partition.keys, d)
    const started = performance.now()
    const answer = await client.send(ctx.region, message, authorization as string)
    const decision = decide(answer, run.attempt, clock.now(), policy, random)
    deps.metrics?.sendSeconds.observe({ region: ctx.region, outcome: decision.kind }, (performance.now() - started) / 1000)
    await ctx.gates.observe(d, answer, decision, gate.probe)
    if (gate.probe && isOutageAnswer(answer)) {
      // A failed probe is the outage's cost, not the message's: it waits for the next probe.
      const hold: Hold = { reason: `region ${ctx.region} probe failed: ${describe(answer)}`, since: iso(clock.now()) }
      const entry = { attempt: run.attempt, outcome: 'retry' as const, status: answer.kind === 'http' ? answer.status : null, error: hold.reason, nextAttemptAt: iso(ctx.gates.nextProbeAt()) }
      return await defer(run, { until: ctx.gates.nextProbeAt(), hold, rememberDomain: false, entry })
    }
    await apply(run, decision, answer)
  }

  /** Later, without spending an attempt (holds, probes, rate): BullMQ's moveToDelayed + DelayedError. */
  async function defer (run: Run, d: Deferral): Promise<never> {
    if (d.hold) await record(run, { status: 'held', attempts: run.job.attemptsMade, error: d.hold.reason, ...(d.entry ? { entry: d.entry } : {}) })
    if (d.rememberDomain) await run.ctx.holds.rememberHeld(run.data.domain, run.data.id)
    await run.job.moveToDelayed(d.until, run.token)
    throw new DelayedError()
  }

  async function apply (run: Run, decision: Decision, answer: ProviderAnswer): Promise<void> {
    const { attempt } = run
    const status = answer.kind === 'http' ? answer.status : null
    switch (decision.kind) {
      case 'sent':
        await record(run, { status: 'sent', attempts: attempt, error: null, answer, entry: { attempt, outcome: 'sent', status, error: null, nextAttemptAt: null } })
        // Never fails the sent job: the files' TTL frees them if this does not.
        dropFiles(run.ctx.link.storeRedis, run.partition.keys, run.data).catch((err: unknown) => run.ctx.log.warn({ err, id: run.data.id }, 'files of a sent message not freed'))
        return
      case 'fail':
        await record(run, { status: 'failed', attempts: attempt, error: decision.reason, answer, entry: { attempt, outcome: 'failed', status, error: decision.reason, nextAttemptAt: null } })
        throw new UnrecoverableError(decision.reason)
      case 'retry': {
        const entry = { attempt, outcome: 'retry' as const, status, error: decision.reason, nextAttemptAt: iso(decision.notBefore) }
        // A 429 spends no attempt: the record's count stays where it was.
        await record(run, { status: 'retrying', attempts: decision.spendsAttempt ? attempt : attempt - 1, error: decision.reason, answer, entry })
        if (decision.spendsAttempt) throw new RetryLater(decision.reason, Math.max(0, decision.notBefore - clock.now()))
        await run.job.moveToDelayed(decision.notBefore, run.token)
        throw new DelayedError()
      }
    }
  }

  async function record ({ data: d, attempt, partition, ctx }: Run, step: Step): Promise<void> {
    const now = clock.now()
    const outcome: Outcome = { job: d, status: step.status, attempts: step.attempts, at: now, error: step.error }
    if (step.entry) outcome.entry = step.entry
    if (step.answer?.kind === 'http') outcome.provider = providerInfo(step.answer)
    if (step.status === 'sent') Object.assign(outcome, sentAtOf(outcome.provider?.date ?? null, now))
    // The job's move (complete, fail, delay) follows on the same connection, so Redis stores the
    // outcome first; waiting for the round trip too would only hold the job's slot longer.
    await partition.store.writeAhead(outcome, (err) => {
      ctx.log.error({ err, id: d.id, domain: d.domain, attempt, status: step.status }, 'outcome not recorded')
    })
    // Bindings in the call, not a child logger per job: no allocation when the level is off.
    if (ctx.log.isLevelEnabled('info')) {
      const { id, domain } = d
      ctx.log.info({ id, domain, attempt, status: step.status, providerStatus: outcome.provider?.status ?? null, error: step.error ?? undefined }, 'outcome')
    }
  }

  let closing: Promise<void> | null = null
  return {
    close () {
      closing ??= Promise.allSettled(regions.map(async ({ workers, gates, watch }) => {
        clearInterval(watch)
        await Promise.allSettled(workers.map(stopServing))
        gates.close()
      })).then(() => {})
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
async function stopServing ({ worker, running, cluster }: Served): Promise<void> {
  if (!cluster) return await worker.close()
  await worker.pause(true)
  await running
  await worker.close(true)
}

function describe (answer: ProviderAnswer): string {
  return answer.kind === 'http' ? `HTTP ${answer.status}` : answer.code
}

function providerInfo (answer: Extract<ProviderAnswer, { kind: 'http' }>): ProviderInfo {
  // Mailgun answers JSON {id, message}; anything else (401's text `Forbidden`, proxy pages) is kept as text.
  let id: string | null = null
  let message: string | null = null
  try {
    const json = JSON.parse(answer.body) as { id?: unknown, message?: unknown }
    if (typeof json.id === 'string') id = json.id
    if (typeof json.message === 'string') message = json.message
  } catch {}
  const date = answer.headers.date
  return { status: answer.status, id, message: message ?? (providerMessage(answer.body) || null), date: typeof date === 'string' ? date : null }
}

/** sentAt from the provider's Date header; an unknown or missing zone is never guessed. */
export function sentAtOf (date: string | null, now: number): Pick<Outcome, 'sentAt' | 'sentAtSource'> {
  const parsed = date === null ? null : parseRfc2822(date)
  return parsed?.ok ? { sentAt: parsed.iso, sentAtSource: 'provider' } : { sentAt: iso(now), sentAtSource: 'local-clock' }
}
