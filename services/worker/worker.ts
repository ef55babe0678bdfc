import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq'
import type { Config } from '../../shared/config.js'
import { systemClock, type Clock } from '../../shared/clock.js'
import { parseRfc2822 } from '../../shared/dates/index.js'
import type { Logger } from '../../shared/logger.js'
import type { Metrics } from '../../shared/metrics.js'
import { queueName, type JobData } from '../../shared/queues.js'
import type { HistoryEntry, Outcome, ProviderInfo } from '../../shared/records.js'
import type { RegionLink, RegionLinks } from '../../shared/region-link.js'
import { basicAuth, type MailgunClient } from './mailgun-client.js'
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

/** A retry that spends an attempt; BullMQ's backoff strategy reads the delay the policy chose. */
class RetryLater extends Error {
  override readonly name = 'RetryLater'
  constructor (message: string, readonly delayMs: number) { super(message) }
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** A BullMQ Worker per served region; turns each Decision of the send policy into a queue move. */
export async function startWorker (deps: WorkerDeps): Promise<RunningWorker> {
  const { config, links, client, clock = systemClock, random = Math.random } = deps
  const log = deps.logger.child({ component: 'worker' })
  // Authorization headers per domain, built once; a job only ever gets its own domain's key.
  const auth = new Map([...config.domains.values()].map((d) => [d.name, basicAuth(d.sendingKey.reveal())]))
  const policy = { maxAttempts: config.maxAttempts, backoffBaseMs: config.backoffBaseMs, backoffCapMs: config.backoffCapMs }

  const workers = config.workerRegions.filter((r) => links.links.has(r)).map((region) => {
    const link = links.get(region)
    const rlog = log.child({ region })
    const worker = new Worker<JobData>(queueName(region), async (job, token) => {
      const jlog = rlog.child({ id: job.data.id, domain: job.data.domain, attempt: job.attemptsMade + 1 })
      const authorization = auth.get(job.data.domain)
      if (!authorization) {
        await record(link, jlog, job, { status: 'failed', attempt: job.attemptsMade + 1, error: `domain ${job.data.domain} is not configured`, answer: null })
        throw new UnrecoverableError(`domain ${job.data.domain} is not configured`)
      }
      const started = performance.now()
      const answer = await client.send(region, job.data, authorization)
      const decision = decide(answer, job.attemptsMade + 1, clock.now(), policy, random)
      deps.metrics?.sendSeconds.observe({ region, outcome: decision.kind }, (performance.now() - started) / 1000)
      await apply(decision, answer, job, token, link, jlog)
    }, {
      connection: link.queueRedis,
      prefix: config.prefix,
      concurrency: config.workerConcurrency,
      // A crashed worker's jobs come back; only a job that keeps crashing workers is given up.
      maxStalledCount: 10,
      settings: { backoffStrategy: (_made: number, _type?: string, err?: Error) => (err as RetryLater | undefined)?.delayMs ?? config.backoffBaseMs }
    })
    worker.on('error', (err) => rlog.error({ err }, 'worker error'))
    return worker
  })

  async function apply (decision: Decision, answer: ProviderAnswer, job: Job<JobData>, token: string | undefined, link: RegionLink, jlog: Logger): Promise<void> {
    const attempt = job.attemptsMade + 1
    switch (decision.kind) {
      case 'sent':
        await record(link, jlog, job, { status: 'sent', attempt, error: null, answer })
        return
      case 'fail':
        await record(link, jlog, job, { status: 'failed', attempt, error: decision.reason, answer })
        throw new UnrecoverableError(decision.reason)
      case 'retry':
        await record(link, jlog, job, { status: 'retrying', attempt, error: decision.reason, answer, nextAttemptAt: decision.notBefore, spent: decision.spendsAttempt })
        if (decision.spendsAttempt) throw new RetryLater(decision.reason, Math.max(0, decision.notBefore - clock.now()))
        await job.moveToDelayed(decision.notBefore, token)
        throw new DelayedError()
      case 'hold-region':
        throw new Error(`unexpected decision ${decision.kind}`)
    }
  }

  interface Step {
    status: 'sent' | 'failed' | 'retrying'
    attempt: number
    error: string | null
    answer: ProviderAnswer | null
    nextAttemptAt?: number
    /** False for a retry that spends no attempt (429): the record's count stays. */
    spent?: boolean
  }

  async function record (link: RegionLink, jlog: Logger, job: Job<JobData>, step: Step): Promise<void> {
    const now = clock.now()
    const http = step.answer?.kind === 'http' ? step.answer : null
    const entry: HistoryEntry = {
      attempt: step.attempt,
      at: iso(now),
      outcome: step.status === 'retrying' ? 'retry' : step.status,
      status: http?.status ?? null,
      error: step.error,
      nextAttemptAt: step.nextAttemptAt !== undefined ? iso(step.nextAttemptAt) : null
    }
    const outcome: Outcome = { job: job.data, status: step.status, attempts: step.spent === false ? step.attempt - 1 : step.attempt, at: now, entry, error: step.error }
    if (http) outcome.provider = providerInfo(http)
    if (step.status === 'sent') Object.assign(outcome, sentAtOf(outcome.provider?.date ?? null, now))
    await link.store.write(outcome)
    jlog.info({ status: step.status, providerStatus: http?.status ?? null, error: step.error ?? undefined }, 'outcome')
  }

  let closing: Promise<void> | null = null
  return {
    close () {
      closing ??= Promise.allSettled(workers.map((w) => w.close())).then(() => {})
      return closing
    }
  }
}

function providerInfo (answer: Extract<ProviderAnswer, { kind: 'http' }>): ProviderInfo {
  let id: string | null = null
  try {
    const json = JSON.parse(answer.body) as { id?: unknown }
    if (typeof json.id === 'string') id = json.id
  } catch {}
  const date = answer.headers.date
  return { status: answer.status, id, message: providerMessage(answer.body) || null, date: typeof date === 'string' ? date : null }
}

/** sentAt from the provider's Date header; an unknown or missing zone is never guessed. */
export function sentAtOf (date: string | null, now: number): Pick<Outcome, 'sentAt' | 'sentAtSource'> {
  const parsed = date === null ? null : parseRfc2822(date)
  return parsed?.ok ? { sentAt: parsed.iso, sentAtSource: 'provider' } : { sentAt: iso(now), sentAtSource: 'local-clock' }
}

