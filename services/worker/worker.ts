import { UnrecoverableError, type Job } from 'bullmq'
import type { Config, Region } from '../../shared/config.js'
import { systemClock, type Clock } from '../../shared/clock.js'
import { toIso as iso } from '../../shared/dates/index.js'
import { HoldStore } from '../../shared/holds.js'
import { dropFiles, loadFiles } from '../../shared/files.js'
import type { Logger } from '../../shared/logger.js'
import type { Metrics } from '../../shared/metrics.js'
import { jobDataOf, type StoredJob } from '../../shared/queues.js'
import type { Partition, RegionLink, RegionLinks } from '../../shared/region-link.js'
import { createDomainRate } from './domain-rate.js'
import { createGates, type Gates } from './gates.js'
import { basicAuth, type MailgunClient } from './mailgun-client.js'
import { isOutageAnswer } from './outage.js'
import { createParking, type Parking } from './parking.js'
import { createProviderEvents, type ProviderEvents } from './provider-events.js'
import { createRecorder, type Recorder, type Step } from './recorder.js'
import { createRegionOutage, type RegionOutage } from './region-outage.js'
import { deferRun, RetryLater, type Run } from './run.js'
import { decide, type Decision, type PolicyOptions, type ProviderAnswer } from './send-policy.js'
import { createServing } from './serving.js'
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
    const serving = createServing({ link, config, clock, log: rlog, process: async (job, token, partition) => { await processJob(job, token, partition, ctx) } })
    const recorder = createRecorder({ log: rlog, now: () => clock.now(), pause: serving.pause, resume: serving.resume })
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
    await serving.start()
    return { serving, gates, recorder }
  }))

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

    const message = await loadFiles(ctx.link.storeRedis, partition.keys, d)
    const started = performance.now()
    const answer = await client.send(ctx.region, message, authorization)
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
        // Never fails the sent job: the files' TTL frees them if this does not.
        dropFiles(ctx.link.storeRedis, run.partition.keys, run.data).catch((err: unknown) => ctx.log.warn({ err, id: run.data.id }, 'files of a sent message not freed'))
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
      closing ??= Promise.allSettled(regions.map(async ({ serving, gates, recorder }) => {
        await serving.stop()
        await recorder.settled()
        gates.close()
      })).then(async () => { await events.close() })
      return closing
    }
  }
}

function describe (answer: ProviderAnswer): string {
  return answer.kind === 'http' ? `HTTP ${answer.status}` : answer.code
}
