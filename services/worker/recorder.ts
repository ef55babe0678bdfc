/**
 * How the worker records outcomes, and what it does when Redis refuses them. Normally an outcome
 * is written ahead of its job's move on the same connection (RecordStore.writeAhead): Redis
 * stores the outcome first and no round trip is spent waiting for it. But BullMQ's job moves run
 * where the outcome write does not (over maxmemory a script whose first write frees memory still
 * runs, and BullMQ's do), so a refused write must never be forgotten: the outcome is kept here and
 * written again until Redis takes it, the region's workers take no new job meanwhile, and every
 * outcome that comes meanwhile is stored before its job moves.
 */
import { parseRfc2822, toIso as iso } from '../../shared/dates/index.js'
import type { Logger } from '../../shared/logger.js'
import type { JobData } from '../../shared/queues.js'
import type { HistoryEntry, Outcome, ProviderInfo, RecordStore, Status } from '../../shared/records.js'
import type { Partition } from '../../shared/region-link.js'
import { providerMessage, type ProviderAnswer } from './send-policy.js'

/** One state change of a job, as the record gets it. */
export interface Step {
  status: Status
  /** Attempts spent so far, including this one when it spent. */
  attempts: number
  error: string | null
  answer?: ProviderAnswer
  entry?: Omit<HistoryEntry, 'at'>
  held?: Outcome['held']
  /** A send found in Mailgun's events: when it accepted it (epoch ms). */
  acceptedAt?: number
}

/** What a record belongs to. */
export interface RecordTarget { data: JobData, attempt: number, partition: Partition }

export interface Recorder {
  /**
   * Records a step. Resolves as soon as the job may move (the write is ahead of it on the queue
   * connection); while refused outcomes wait to be stored, only once this one is stored.
   */
  record(target: RecordTarget, step: Step): Promise<void>
  /** Resolves once no outcome waits to be stored (what a worker that stops waits for). */
  settled(): Promise<void>
}

export interface RecorderOptions {
  log: Logger
  now: () => number
  /** The region's workers stop taking jobs, and take them again. */
  pause(): void
  resume(): void
  /** First wait before writing refused outcomes again, doubled up to retryCapMs. */
  retryBaseMs?: number
  retryCapMs?: number
}

interface Unstored { store: RecordStore, outcome: Outcome, stored?: () => void }

export function createRecorder (o: RecorderOptions): Recorder {
  const base = o.retryBaseMs ?? 100
  const cap = o.retryCapMs ?? 2000
  /** Refused outcomes, oldest first; while there are any, new outcomes queue behind them. */
  let unstored: Unstored[] = []
  let troubled = false
  let delay = base
  let idle: Array<() => void> = []

  function keep (u: Unstored, err: Error): void {
    unstored.push(u)
    if (troubled) return
    troubled = true
    o.log.error({ err, id: u.outcome.job.id }, 'outcomes not stored: pausing the region until Redis takes them')
    o.pause()
    setTimeout(() => { void retry() }, delay)
  }

  async function retry (): Promise<void> {
    const batch = unstored
    unstored = []
    const results = await Promise.allSettled(batch.map(async (u) => { await u.store.write(u.outcome) }))
    const failed: Unstored[] = []
    let lastError: unknown
    results.forEach((r, i) => {
      const u = batch[i] as Unstored
      if (r.status === 'fulfilled') u.stored?.()
      else { failed.push(u); lastError = r.reason }
    })
    // What failed again goes first: a message's outcomes are stored in the order they happened.
    unstored = [...failed, ...unstored]
    if (unstored.length > 0) {
      if (failed.length > 0) o.log.warn({ err: lastError, waiting: unstored.length }, 'outcomes still not stored')
      delay = Math.min(cap, delay * 2)
      setTimeout(() => { void retry() }, failed.length > 0 ? delay : 0)
      return
    }
    troubled = false
    delay = base
    o.log.info('outcomes stored again: resuming the region')
    o.resume()
    for (const resolve of idle) resolve()
    idle = []
  }

  return {
    async record ({ data: d, attempt, partition }, step) {
      const now = o.now()
      const outcome: Outcome = { job: d, status: step.status, attempts: step.attempts, at: now, error: step.error }
      if (step.entry) outcome.entry = step.entry
      if (step.held) outcome.held = step.held
      if (step.answer?.kind === 'http') outcome.provider = providerInfo(step.answer)
      if (step.acceptedAt !== undefined) Object.assign(outcome, { sentAt: iso(step.acceptedAt), sentAtSource: 'provider-event' })
      else if (step.status === 'sent') Object.assign(outcome, sentAtOf(outcome.provider?.date ?? null, now))
      const store = partition.store
      if (troubled) {
        await new Promise<void>((resolve) => { unstored.push({ store, outcome, stored: resolve }) })
      } else {
        await store.writeAhead(outcome, (err) => { keep({ store, outcome }, err) })
      }
      // Bindings in the call, not a child logger per job: no allocation when the level is off.
      if (o.log.isLevelEnabled('info')) {
        const { id, domain } = d
        o.log.info({ id, domain, attempt, status: step.status, providerStatus: outcome.provider?.status ?? null, error: step.error ?? undefined }, 'outcome')
      }
    },
    async settled () {
      if (troubled) await new Promise<void>((resolve) => { idle.push(resolve) })
    }
  }
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
