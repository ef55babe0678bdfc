/**
 * A message whose last attempt may have reached Mailgun without our knowing: its answer was lost
 * (a timeout or a dropped connection after the request went out, send-policy.ts), or its worker
 * stopped mid-attempt (killed, or its lock lapsed: BullMQ brings the job back as stalled). Before
 * it is sent again, its record says so (once per stall), and for a domain with a primaryKey
 * Mailgun's Events API is asked whether it accepted the message: then nothing is sent again.
 * Only such messages come here: the job itself tells (its stall count, the reason of its last
 * retry), so an ordinary send pays nothing.
 */
import type { Job } from 'bullmq'
import type { Config, Region } from '../../shared/config.js'
import type { Clock } from '../../shared/clock.js'
import { toIso as iso } from '../../shared/dates/index.js'
import type { Logger } from '../../shared/logger.js'
import type { StoredJob } from '../../shared/queues.js'
import type { HistoryEntry } from '../../shared/records.js'
import type { Secret } from '../../shared/secret.js'
import type { ProviderEvents } from './provider-events.js'
import type { Recorder } from './recorder.js'
import type { Run } from './run.js'
import { MAY_HAVE_ACCEPTED } from './send-policy.js'

export type Settled =
  | { kind: 'send' }
  /** Recorded sent (from its accepted event now, or before its worker stopped): complete the job. */
  | { kind: 'done' }
  /** Fail the job; `entry`: the history entry to record with it (none: the failure is recorded already). */
  | { kind: 'fail', reason: string, entry?: Omit<HistoryEntry, 'at'> }
  /** Not due yet: come back then, nothing recorded. */
  | { kind: 'wait', until: number }

/** What a job's record says of its earlier run: finished after all, or the attempt to check (if any). */
export type Recalled = Extract<Settled, { kind: 'done' } | { kind: 'fail' }> | { kind: 'send', last: HistoryEntry | undefined }

export interface Verification {
  /**
   * First thing for a job that may be at Mailgun (before any hold parks it): a stalled job whose
   * outcome was stored is finished, and a stall the record does not show yet is written to it.
   */
  recall(run: Run): Promise<Recalled>
  /** Just before a send: an attempt whose outcome is unknown is checked in the Events API when due. */
  verify(run: Run, last: HistoryEntry | undefined): Promise<Settled>
}

export interface VerificationOptions {
  region: Region
  config: Config
  recorder: Recorder
  events: ProviderEvents
  clock: Clock
  logger: Logger
  /** Counts messages found accepted, which would otherwise have gone twice. */
  duplicateAvoided: (domain: string) => void
}

/** How a stalled attempt starts in the history; with MAY_HAVE_ACCEPTED in it, it is checked like a lost answer. */
const STALLED = 'the worker stopped while it had this message (killed, or its lock lapsed)'
const SEND: Settled = Object.freeze({ kind: 'send' })
const DONE = Object.freeze({ kind: 'done' as const })

/** True for a job that may already be at Mailgun: it stalled once, or its last answer was lost. */
export function mayHaveReachedMailgun (job: Job<StoredJob>): boolean {
  return job.stalledCounter > 0 || (job.failedReason?.includes(MAY_HAVE_ACCEPTED) ?? false)
}

const isStall = (h: HistoryEntry): boolean => h.status === null && (h.error?.startsWith(STALLED) ?? false)
const isUnknown = (h: HistoryEntry | undefined): h is HistoryEntry => h !== undefined && h.status === null && (h.error?.includes(MAY_HAVE_ACCEPTED) ?? false)

export function createVerification (o: VerificationOptions): Verification {
  const { config, recorder, clock } = o
  const primaryKey = (domain: string): Secret | null => config.domains.get(domain)?.primaryKey ?? null

  return {
    async recall (run) {
      const { job, data: d, attempt } = run
      const record = await run.partition.store.read(d.id)
      const last = record?.history.at(-1)
      if (job.stalledCounter === 0) return { kind: 'send', last }
      // The outcome was stored, but the job's move was lost with its worker.
      if (record?.status === 'sent') return DONE
      if (record?.status === 'failed') return { kind: 'fail', reason: record.error ?? 'failed' }
      if ((record?.history.filter(isStall).length ?? 0) >= job.stalledCounter) return { kind: 'send', last }
      const now = clock.now()
      const error = `${STALLED}: if it was sending, ${MAY_HAVE_ACCEPTED}`
      const entry = { attempt, outcome: 'retry' as const, status: null, error, nextAttemptAt: iso(primaryKey(d.domain) ? now + config.verifyAfterMs : now) }
      await recorder.record(run, { status: 'retrying', attempts: job.attemptsMade, error, entry })
      return { kind: 'send', last: { ...entry, at: iso(now) } }
    },

    async verify (run, last) {
      const { job, data: d, attempt } = run
      const key = primaryKey(d.domain)
      if (!key || !isUnknown(last)) return SEND
      const now = clock.now()
      const due = Date.parse(last.at) + config.verifyAfterMs
      if (now < due) return { kind: 'wait', until: due }

      const found = await o.events.findAccepted(o.region, d.domain, d.messageId, key)
      if (found.kind === 'accepted') {
        const entry = { attempt: last.attempt, outcome: 'sent' as const, status: null, error: null, nextAttemptAt: null }
        await recorder.record(run, { status: 'sent', attempts: last.attempt, error: null, acceptedAt: found.at, entry })
        o.duplicateAvoided(d.domain)
        o.logger.info({ id: d.id, domain: d.domain, attempt: last.attempt }, 'found accepted in Mailgun\'s events: not sent again')
        return DONE
      }
      const why = found.kind === 'not-found' ? 'Mailgun has no accepted event for it' : `could not check Mailgun's events (${found.reason})`
      if (attempt > config.maxAttempts) {
        const reason = `gave up after ${config.maxAttempts} attempts: the last one's answer was lost and ${why}`
        return { kind: 'fail', reason, entry: { attempt: last.attempt, outcome: 'failed', status: null, error: reason, nextAttemptAt: null } }
      }
      const error = `${why}: sending again`
      await recorder.record(run, { status: 'retrying', attempts: job.attemptsMade, error, entry: { attempt: last.attempt, outcome: 'retry', status: null, error, nextAttemptAt: iso(now) } })
      return SEND
    }
  }
}
