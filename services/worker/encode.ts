import { FormData } from 'undici'
import type { JobWithFiles } from '../../shared/files.js'

export interface EncodedBody {
  body: string | FormData
  /** undefined for FormData: undici sets multipart/form-data with its boundary. */
  contentType: string | undefined
}

/** What a send needs: the fields, the files with their bytes (shared/files.ts loadFiles), the Message-Id. */
export type SendableMessage = Pick<JobWithFiles, 'fields' | 'files' | 'messageId'>

/**
 * Mailgun form fields → request body: urlencoded when there are no files (several times cheaper
 * than multipart), multipart/form-data when there are (Mailgun requires it for files). The
 * message's own Message-Id goes last, so Mailgun's id for it is ours.
 */
export function encodeBody (data: SendableMessage): EncodedBody {
  if (data.files.length === 0) {
    let body = ''
    for (const [name, value] of data.fields) {
      body += (body ? '&' : '') + encodeURIComponent(name) + '=' + encodeURIComponent(value)
    }
    body += (body ? '&' : '') + 'h%3AMessage-Id=' + encodeURIComponent(data.messageId)
    return { body, contentType: 'application/x-www-form-urlencoded' }
  }
  const form = new FormData()
  for (const [name, value] of data.fields) form.append(name, value)
  form.append('h:Message-Id', data.messageId)
  // Buffers from ioredis are never backed by a SharedArrayBuffer.
  for (const f of data.files) form.append(f.field, new Blob([...f.content] as Array<Uint8Array<ArrayBuffer>>, { type: f.contentType }), f.filename)
  return { body: form, contentType: undefined }
}
