/**
 * The bytes of a message's files. Ingest writes them as one hash per message (field = the file's
 * index in the job's `files`) in the same script call as the job (addMessages-13.lua), so the job
 * itself stays small; the worker reads them right before a send and drops them once the message
 * is sent. Their TTL (set at ingest) outlives the record of a message that failed, so a failed
 * message can still be retried.
 */
import type { PartitionKeys } from './keys.js'
import type { FileData, FileRef, JobData } from './queues.js'
import type { RedisClient } from './redis.js'

/** A job with the bytes of its files, ready to send. */
export type JobWithFiles = Omit<JobData, 'files'> & { files: FileData[] }

/** A file of a job stored before files had their own hash: its bytes, base64, in the job. */
type LegacyFile = FileRef & { content?: string }

/**
 * The job with its files' bytes, read from Redis (one HMGET for all of them). Throws when a file
 * is gone, which only happens past its TTL.
 */
export async function loadFiles (redis: RedisClient, keys: PartitionKeys, data: JobData): Promise<JobWithFiles> {
  const refs = data.files as LegacyFile[]
  if (refs.length === 0 || refs.every((f) => f.content !== undefined)) {
    return { ...data, files: refs.map(({ content, ...ref }) => ({ ...ref, content: Buffer.from(content ?? '', 'base64') })) }
  }
  const bytes = await redis.hmgetBuffer(keys.files(data.id), ...refs.map((_, i) => String(i)))
  const files = refs.map((ref, i) => {
    const content = bytes[i]
    if (!content) throw new Error(`message ${data.id}: the bytes of file ${i} (${ref.filename}) are gone`)
    return { field: ref.field, filename: ref.filename, contentType: ref.contentType, content }
  })
  return { ...data, files }
}

/** Frees a sent (or cancelled) message's files; nothing to do for a message without any. */
export async function dropFiles (redis: RedisClient, keys: PartitionKeys, data: Pick<JobData, 'id' | 'files'>): Promise<void> {
  // UNLINK: Redis frees megabytes of bytes in the background, not on its one command thread.
  if (data.files.length > 0) await redis.unlink(keys.files(data.id))
}
