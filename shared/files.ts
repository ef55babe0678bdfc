/**
 * The bytes of a message's files: one hash per message (PartitionKeys.files), field
 * `<file>.<chunk>` for each chunk of each file, in the order of the job's `files`. Ingest uploads
 * them to a staging hash first, a few chunks per command, so Redis never stops for megabytes at
 * once; the add script renames that hash into place with the job, or writes nothing. The job
 * itself stays small. The worker reads them right before a send and drops them once the message is
 * sent. Their TTL (set at ingest) outlives the record of a message that failed, so a failed
 * message can still be retried.
 */
import type { PartitionKeys } from './keys.js'
import type { FileData, JobData, StoredFile } from './queues.js'
import type { RedisClient } from './redis.js'

/** A job with the bytes of its files, ready to send. */
export type JobWithFiles = Omit<JobData, 'files'> & { files: FileData[] }

/** The field of a chunk in a files hash. */
export function chunkField (file: number, chunk: number): string {
  return `${file}.${chunk}`
}

/**
 * The job with its files' bytes, read from Redis (one HMGET for all of them). Throws when a file
 * is gone, which only happens past its TTL.
 */
export async function loadFiles (redis: RedisClient, keys: PartitionKeys, data: JobData): Promise<JobWithFiles> {
  if (data.files.every(isLegacy)) {
    return { ...data, files: data.files.map(({ content, chunks: _, ...ref }) => ({ ...ref, content: [Buffer.from(content ?? '', 'base64')] })) }
  }
  const fields = data.files.flatMap((f, i) => Array.from({ length: f.chunks }, (_, c) => chunkField(i, c)))
  const chunks = fields.length === 0 ? [] : await redis.hmgetBuffer(keys.files(data.id), ...fields)
  let next = 0
  const files = data.files.map((f, i) => {
    const content = chunks.slice(next, next += f.chunks)
    if (content.some((c) => c === null)) throw new Error(`message ${data.id}: the bytes of file ${i} (${f.filename}) are gone`)
    return { field: f.field, filename: f.filename, contentType: f.contentType, content: content as Buffer[] }
  })
  return { ...data, files }
}

/** Frees a sent (or cancelled) message's files; nothing to do for a message without any. */
export async function dropFiles (redis: RedisClient, keys: PartitionKeys, data: Pick<JobData, 'id' | 'files'>): Promise<void> {
  // UNLINK: Redis frees megabytes of bytes in the background, not on its one command thread.
  if (data.files.length > 0) await redis.unlink(keys.files(data.id))
}

/** A file of a job stored before files had their own hash. */
function isLegacy (f: StoredFile): boolean {
  return f.content !== undefined
}
