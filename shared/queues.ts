import type { Job } from 'bullmq'
import type { Region } from './config-schema.js'

/** `transactional` jobs carry no BullMQ priority, so they always run before `bulk` (priority 1). */
export type Lane = 'transactional' | 'bulk'
export const LANE_PRIORITY: Readonly<Record<Lane, number>> = { transactional: 0, bulk: 1 }

/** What a file of a message is called and what it holds. */
export interface FileRef {
  field: 'attachment' | 'inline' | 'message'
  filename: string
  contentType: string
}

/**
 * A file as its job carries it: its name, not its bytes. The bytes live in the message's files
 * hash (PartitionKeys.files; see shared/files.ts), put in place by the same script call as the
 * job, so the job's JSON stays small in the API, in Redis and in the worker.
 */
export interface StoredFile extends FileRef {
  /** How many chunks its bytes are kept in. */
  chunks: number
  /** Jobs stored before files had their own hash: the bytes, base64, and no chunks. */
  content?: string
}

/**
 * A file with its bytes: at ingest, and in the worker right before a send (shared/files.ts). The
 * bytes come in chunks, as they arrived: joining megabytes would only copy them once more.
 */
export interface FileData extends FileRef {
  content: readonly Buffer[]
}

/** How many bytes a file has. */
export function fileSize (f: FileData): number {
  let size = 0
  for (const chunk of f.content) size += chunk.length
  return size
}

/** A message as the API and the worker handle it: the message already in Mailgun's form fields, never a key. */
export interface JobData {
  /** Also the BullMQ job id. */
  id: string
  /** With angle brackets; the worker sends it as h:Message-Id, so Mailgun's id equals ours. */
  messageId: string
  domain: string
  region: Region
  /** Epoch ms of acceptance. */
  createdAt: number
  /** Epoch ms before which it must not be sent, or null. */
  sendAt: number | null
  lane: Lane
  endpoint: 'messages' | 'messages.mime'
  /** Mailgun form fields in order, repeated names allowed (to, o:tag, …); h:Message-Id is added when sending. */
  fields: Array<[string, string]>
  files: StoredFile[]
}

/**
 * A job as ingest makes it: with the bytes of its files. `replay`: its id was handed out before
 * (an Idempotency-Key's claim), so the add must leave a message that exists already, even one
 * already sent; a fresh id cannot exist, and skips that check.
 */
export type NewJob = Omit<JobData, 'files'> & { files: FileData[], replay?: true }

/**
 * What a job holds in Redis: only what the job itself cannot say (its id, timestamp and priority
 * give id, region, createdAt and lane), defaults left out. Every byte here is paid in the API,
 * in Redis and in the worker for every message.
 */
export interface StoredJob {
  domain: string
  messageId: string
  fields: Array<[string, string]>
  files?: StoredFile[]
  sendAt?: number
  endpoint?: 'messages.mime'
}

export function storedJob (d: NewJob): StoredJob {
  const s: StoredJob = { domain: d.domain, messageId: d.messageId, fields: d.fields }
  if (d.files.length > 0) s.files = d.files.map(({ field, filename, contentType, content }) => ({ field, filename, contentType, chunks: content.length }))
  if (d.sendAt !== null) s.sendAt = d.sendAt
  if (d.endpoint === 'messages.mime') s.endpoint = d.endpoint
  return s
}

/** The message a job carries. */
export function jobDataOf (job: Job<StoredJob>): JobData {
  const s = job.data
  const id = job.id as string
  return {
    id,
    messageId: s.messageId,
    domain: s.domain,
    region: regionOfId(id),
    createdAt: job.timestamp,
    sendAt: s.sendAt ?? null,
    lane: job.priority > 0 ? 'bulk' : 'transactional',
    endpoint: s.endpoint ?? 'messages',
    fields: s.fields,
    files: s.files ?? []
  }
}

/** Message ids start with their region (`us-…`), so a lookup goes straight to that region's Redis. */
export function regionOfId (id: string): Region {
  return id.slice(0, 2) as Region
}

export function queueName (region: Region): string {
  return `send-${region}`
}

export interface JobPolicy {
  maxAttempts: number
}
