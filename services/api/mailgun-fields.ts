import { formatRfc2822, parseInstant } from '../../shared/dates/index.js'
import type { FileData } from '../../shared/queues.js'
import type { MessageInput } from './schemas/message.js'
import { HttpError } from './errors.js'
import { FILE_BYTES } from './json-files.js'
import { checkSendFields, type Refusal } from './validation/fields.js'
import { keyLabel, within } from './validation/labels.js'
import { isBlank } from './validation/text.js'

const yesNo = (b: boolean): string => (b ? 'yes' : 'no')
const given = (value: string | undefined): boolean => !isBlank(value)

/** Mailgun form fields, and the caller's name of each (for errors only; not kept). */
export interface NativeFields {
  fields: Array<[string, string]>
  labels: string[]
  files: FileData[]
  fileLabels: string[]
}

/**
 * A native message in Mailgun's own form fields (mailgun-api.md §1), computed once at ingest so
 * the worker only encodes. The caller's own Message-Id header is dropped: the worker sends ours.
 */
function mailgunFields (m: MessageInput, root: string): NativeFields {
  const out: NativeFields = { fields: [], labels: [], files: [], fileLabels: [] }
  const add = (name: string, value: string, label: string): void => { out.fields.push([name, value]); out.labels.push(label) }
  add('from', m.from, 'from')
  m.to.forEach((to, i) => add('to', to, `to[${i}]`))
  m.cc?.forEach((cc, i) => add('cc', cc, `cc[${i}]`))
  m.bcc?.forEach((bcc, i) => add('bcc', bcc, `bcc[${i}]`))
  if (m.subject !== undefined) add('subject', m.subject, 'subject')
  if (m.text !== undefined) add('text', m.text, 'text')
  if (m.html !== undefined) add('html', m.html, 'html')
  if (m.ampHtml !== undefined) add('amp-html', m.ampHtml, 'ampHtml')
  if (m.template !== undefined) add('template', m.template, 'template')
  if (m.templateVersion !== undefined) add('t:version', m.templateVersion, 'templateVersion')
  if (m.templateVariables !== undefined) add('t:variables', JSON.stringify(m.templateVariables), 'templateVariables')
  m.tags?.forEach((tag, i) => add('o:tag', tag, `tags[${i}]`))
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (name.toLowerCase() !== 'message-id') add(`h:${name}`, value, keyLabel('headers', name))
  }
  for (const [name, value] of Object.entries(m.variables ?? {})) {
    add(`v:${name}`, typeof value === 'string' ? value : JSON.stringify(value), keyLabel('variables', name))
  }
  if (m.recipientVariables !== undefined) add('recipient-variables', JSON.stringify(m.recipientVariables), 'recipientVariables')
  const o = m.options
  if (o) {
    if (o.deliveryTime !== undefined) add('o:deliverytime', formatRfc2822(instantOf(o.deliveryTime, within(root, 'options.deliveryTime'))), 'options.deliveryTime')
    if (o.testMode !== undefined) add('o:testmode', yesNo(o.testMode), 'options.testMode')
    if (o.tracking !== undefined) add('o:tracking', yesNo(o.tracking), 'options.tracking')
    if (o.trackingClicks !== undefined) add('o:tracking-clicks', o.trackingClicks === 'htmlonly' ? 'htmlonly' : yesNo(o.trackingClicks), 'options.trackingClicks')
    if (o.trackingOpens !== undefined) add('o:tracking-opens', yesNo(o.trackingOpens), 'options.trackingOpens')
    if (o.requireTls !== undefined) add('o:require-tls', yesNo(o.requireTls), 'options.requireTls')
    if (o.skipVerification !== undefined) add('o:skip-verification', yesNo(o.skipVerification), 'options.skipVerification')
    if (o.dkim !== undefined) add('o:dkim', yesNo(o.dkim), 'options.dkim')
  }
  m.attachments?.forEach((a, i) => { out.files.push(fileOf('attachment', a)); out.fileLabels.push(`attachments[${i}]`) })
  m.inline?.forEach((a, i) => { out.files.push(fileOf('inline', a)); out.fileLabels.push(`inline[${i}]`) })
  return out
}

/** A native message's Mailgun fields, once it passes the native API's own rules; `root` names a batch item (`messages[4]`). */
export function nativeFields (m: MessageInput, root = ''): NativeFields {
  if (!given(m.text) && !given(m.html) && !given(m.ampHtml) && !given(m.template)) {
    throw new HttpError('MQ_ERR_VALIDATION', `${within(root, 'text')}: one of text, html, ampHtml or template is required (and not blank)`)
  }
  if (given(m.html) && given(m.template)) throw new HttpError('MQ_ERR_VALIDATION', `${within(root, 'template')} cannot be given with html`)
  if (m.templateVersion !== undefined && m.template === undefined) throw new HttpError('MQ_ERR_VALIDATION', `${within(root, 'templateVersion')} needs template`)
  return mailgunFields(m, root)
}

/**
 * Throws HttpError 400 or 413 for the first rule (validation/fields.ts) the fields break; the
 * job's `messageId` counts among the send options.
 */
export function checkNativeFields (native: NativeFields, messageId: string, root = ''): void {
  const refusal = checkSendFields(native.fields, native.files, messageId, {
    field: (i) => within(root, native.labels[i] as string),
    file: (i) => within(root, native.fileLabels[i] as string)
  })
  if (refusal) throw refusalError(refusal)
}

export function refusalError (refusal: Refusal): HttpError {
  return new HttpError(refusal.status === 413 ? 'MQ_ERR_TOO_LARGE' : 'MQ_ERR_VALIDATION', refusal.message)
}

/** Epoch ms of an ISO 8601 or RFC 2822 input; an unknown zone or bad date is a 400 naming the field. */
export function instantOf (value: string, field: string): number {
  const parsed = parseInstant(value)
  if (!parsed.ok) throw new HttpError('MQ_ERR_VALIDATION', `${field} is not a valid ISO 8601 or RFC 2822 date: ${parsed.message}`)
  return parsed.instant
}

/**
 * A file's bytes: decoded as the body streamed in (json-files.ts), or here, once (Node's base64
 * decoder skips the whitespace the schema allows).
 */
function fileOf (field: 'attachment' | 'inline', a: { filename: string, contentType?: string, content: string, [FILE_BYTES]?: Buffer[] }): FileData {
  return { field, filename: a.filename, contentType: a.contentType ?? 'application/octet-stream', content: a[FILE_BYTES] ?? [Buffer.from(a.content, 'base64')] }
}
