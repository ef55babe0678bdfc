import type { JobsOptions } from 'bullmq'
import type { Region } from './config-schema.js'

/** `transactional` jobs carry no BullMQ priority, so they always run before `bulk` (priority 1). */
export type Lane = 'transactional' | 'bulk'

export interface FileData {
  field: 'attachment' | 'inline' | 'message'
  filename: string
  contentType: string
  /** Base64. */
  content: string
}

/** What a queued job carries: the message already in Mailgun's form fields, never a key. */
export interface JobData {
  id: string
  /** With angle brackets; sent as h:Message-Id, so Mailgun's id equals ours. */
  messageId: string
  domain: string
  region: Region
  /** Epoch ms of acceptance. */
  createdAt: number
  /** Epoch ms before which it must not be sent, or null. */
  sendAt: number | null
  lane: Lane
  endpoint: 'messages' | 'messages.mime'
  /** Mailgun form fields in order, repeated names allowed (to, o:tag, …). */
  fields: Array<[string, string]>
  files: FileData[]
}

export function queueName (region: Region): string {
  return `send-${region}`
}

export interface JobPolicy {
  maxAttempts: number
  outcomeTtlDays: number
}

/** BullMQ options for one message; the job id is the message id, so lookups need no index. */
export function jobOptions (data: JobData, policy: JobPolicy, now: number): JobsOptions {
  const opts: JobsOptions = {
    jobId: data.id,
    attempts: policy.maxAttempts,
    backoff: { type: 'policy' },
    removeOnComplete: true,
    // Failed jobs stay for replay (POST /v1/messages/:id/retry) as long as their record lives.
    removeOnFail: { age: Math.round(policy.outcomeTtlDays * 86400) }
  }
  if (data.sendAt !== null && data.sendAt > now) opts.delay = data.sendAt - now
  if (data.lane === 'bulk') opts.priority = 1
  return opts
}
