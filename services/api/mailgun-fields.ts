import { formatRfc2822, parseInstant } from '../../shared/dates/index.js'
import type { FileData } from '../../shared/queues.js'
import type { MessageInput } from './schemas/message.js'
import { HttpError } from './errors.js'

const yesNo = (b: boolean): string => (b ? 'yes' : 'no')

/** Mailgun's limit on recipients per request (mailgun-api.md §1 "Limits"). */
export const MAX_RECIPIENTS = 1000

/**
 * A native message in Mailgun's own form fields (mailgun-api.md §1), computed once at ingest so
 * the worker only encodes. The caller's own Message-Id header is dropped: the worker sends ours.
 */
export function mailgunFields (m: MessageInput): { fields: Array<[string, string]>, files: FileData[] } {
  const f: Array<[string, string]> = [['from', m.from]]
  for (const to of m.to) f.push(['to', to])
  for (const cc of m.cc ?? []) f.push(['cc', cc])
  for (const bcc of m.bcc ?? []) f.push(['bcc', bcc])
  if (m.subject !== undefined) f.push(['subject', m.subject])
  if (m.text !== undefined) f.push(['text', m.text])
  if (m.html !== undefined) f.push(['html', m.html])
  if (m.ampHtml !== undefined) f.push(['amp-html', m.ampHtml])
  if (m.template !== undefined) f.push(['template', m.template])
  if (m.templateVersion !== undefined) f.push(['t:version', m.templateVersion])
  if (m.templateVariables !== undefined) f.push(['t:variables', JSON.stringify(m.templateVariables)])
  for (const tag of m.tags ?? []) f.push(['o:tag', tag])
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (name.toLowerCase() !== 'message-id') f.push([`h:${name}`, value])
  }
  for (const [name, value] of Object.entries(m.variables ?? {})) {
    f.push([`v:${name}`, typeof value === 'string' ? value : JSON.stringify(value)])
  }
  if (m.recipientVariables !== undefined) f.push(['recipient-variables', JSON.stringify(m.recipientVariables)])
  const o = m.options
  if (o) {
    if (o.deliveryTime !== undefined) f.push(['o:deliverytime', formatRfc2822(instantOf(o.deliveryTime, 'options.deliveryTime'))])
    if (o.testMode !== undefined) f.push(['o:testmode', yesNo(o.testMode)])
    if (o.tracking !== undefined) f.push(['o:tracking', yesNo(o.tracking)])
    if (o.trackingClicks !== undefined) f.push(['o:tracking-clicks', o.trackingClicks === 'htmlonly' ? 'htmlonly' : yesNo(o.trackingClicks)])
    if (o.trackingOpens !== undefined) f.push(['o:tracking-opens', yesNo(o.trackingOpens)])
    if (o.requireTls !== undefined) f.push(['o:require-tls', yesNo(o.requireTls)])
    if (o.skipVerification !== undefined) f.push(['o:skip-verification', yesNo(o.skipVerification)])
    if (o.dkim !== undefined) f.push(['o:dkim', yesNo(o.dkim)])
  }
  const files: FileData[] = []
  for (const a of m.attachments ?? []) files.push(fileOf('attachment', a))
  for (const a of m.inline ?? []) files.push(fileOf('inline', a))
  return { fields: f, files }
}

/** Rules Mailgun enforces that a schema cannot say; checked here so the caller gets a 400 now. */
export function checkMessageRules (m: MessageInput): void {
  const recipients = m.to.length + (m.cc?.length ?? 0) + (m.bcc?.length ?? 0)
  if (recipients > MAX_RECIPIENTS) throw new HttpError('MQ_ERR_VALIDATION', `to, cc and bcc together allow at most ${MAX_RECIPIENTS} recipients`)
  if (m.text === undefined && m.html === undefined && m.ampHtml === undefined && m.template === undefined) {
    throw new HttpError('MQ_ERR_VALIDATION', 'one of text, html, ampHtml or template is required')
  }
  if (m.html !== undefined && m.template !== undefined) throw new HttpError('MQ_ERR_VALIDATION', 'html and template cannot both be given')
  if (m.templateVersion !== undefined && m.template === undefined) throw new HttpError('MQ_ERR_VALIDATION', 'templateVersion needs template')
}

/** Epoch ms of an ISO 8601 or RFC 2822 input; an unknown zone or bad date is a 400 naming the field. */
export function instantOf (value: string, field: string): number {
  const parsed = parseInstant(value)
  if (!parsed.ok) throw new HttpError('MQ_ERR_VALIDATION', `${field} is not a valid ISO 8601 or RFC 2822 date: ${parsed.message}`)
  return parsed.instant
}

function fileOf (field: 'attachment' | 'inline', a: { filename: string, contentType?: string, content: string }): FileData {
  return { field, filename: a.filename, contentType: a.contentType ?? 'application/octet-stream', content: a.content.replace(/\s+/g, '') }
}
