import { FormData } from 'undici'
import type { JobData } from '../../shared/queues.js'

export interface EncodedBody {
  body: string | FormData
  /** undefined for FormData: undici sets multipart/form-data with its boundary. */
  contentType: string | undefined
}

/**
 * Mailgun form fields → request body: urlencoded when there are no files (several times cheaper
 * than multipart), multipart/form-data when there are (Mailgun requires it for files). The
 * message's own Message-Id goes last, so Mailgun's id for it is ours.
 */
export function encodeBody (data: Pick<JobData, 'fields' | 'files' | 'messageId'>): EncodedBody {
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
  for (const f of data.files) {
    form.append(f.field, new Blob([Buffer.from(f.content, 'base64')], { type: f.contentType }), f.filename)
  }
  return { body: form, contentType: undefined }
}
