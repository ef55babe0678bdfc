import type { ClientConfig, Config } from '../../shared/config.js'
import type { FileData, JobData, NewJob } from '../../shared/queues.js'
import { assertDomainAllowed } from './plugins/auth.js'
import { HttpError } from './errors.js'
import { newJob } from './ingest.js'
import { refusalError } from './mailgun-fields.js'
import { checkSendFields } from './validation/fields.js'
import { nameLabel } from './validation/labels.js'
import { isBlank } from './validation/text.js'

/** A Mailgun-compatible request (/v3/:domain/messages[.mime]) as parsed form parts. */
export interface MailgunForm {
  domain: string
  endpoint: JobData['endpoint']
  fields: Array<[string, string]>
  files: FileData[]
}

/** RFC 5322 §3.6.4 msg-id, printable ASCII only: a caller's own Message-Id that is not one is replaced by ours. */
const MESSAGE_ID = /^<[!-;=?A-~]+@[!-;=?A-~]+>$/

const values = (form: MailgunForm, name: string): string[] => form.fields.filter(([k]) => k === name).map(([, v]) => v)
const given = (form: MailgunForm, name: string): boolean => values(form, name).some((v) => !isBlank(v))

/** Mailgun's own 400s (mailgun-api.md §3), so a drop-in client sees the answers it knows. */
function mailgunProblem (form: MailgunForm): string | null {
  if (form.endpoint === 'messages' && values(form, 'from').length === 0) return 'from parameter is missing'
  if (values(form, 'to').length === 0) return 'to parameter is missing'
  if (form.endpoint === 'messages.mime' && !form.files.some((f) => f.field === 'message')) {
    return values(form, 'message').length > 0 ? "'message' parameter is not a file" : 'message parameter is missing'
  }
  if (form.endpoint === 'messages' && !['text', 'html', 'amp-html', 'template'].some((k) => given(form, k))) {
    return "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
  }
  if (given(form, 'html') && given(form, 'template')) return "Only one parameters 'html' or 'template' is allowed"
  return null
}

/**
 * A drop-in request → its job, once its fields pass every rule (validation/fields.ts). The fields
 * go to Mailgun as given; a valid h:Message-Id of the caller's is kept (Mailgun honours it too),
 * otherwise ours is added.
 */
export function prepareMailgunForm (form: MailgunForm, client: ClientConfig, config: Config, now: number): NewJob {
  const domain = form.domain.toLowerCase()
  assertDomainAllowed(client, domain)
  const domainConfig = config.domains.get(domain)
  if (!domainConfig) throw new HttpError('MQ_ERR_DOMAIN_UNKNOWN', form.domain)
  const problem = mailgunProblem(form)
  if (problem) throw new HttpError('MQ_ERR_VALIDATION', problem)
  const callers = form.fields.find(([k, v]) => k.toLowerCase() === 'h:message-id' && MESSAGE_ID.test(v.trim()))?.[1].trim()
  const fields = form.fields.filter(([k]) => k.toLowerCase() !== 'h:message-id')
  const message = { sendAt: null, lane: 'transactional' as const, endpoint: form.endpoint, fields, files: form.files }
  const data = newJob(domainConfig, config, now, callers === undefined ? message : { ...message, messageId: callers })
  const refusal = checkSendFields(fields, form.files, data.messageId, {
    field: (i) => nameLabel(fields[i]?.[0] ?? ''),
    file: (i) => form.files[i]?.field ?? 'file'
  })
  if (refusal) throw refusalError(refusal)
  return data
}
