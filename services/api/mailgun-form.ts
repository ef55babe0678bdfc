import type { ClientConfig, Config } from '../../shared/config.js'
import type { FileData, JobData } from '../../shared/queues.js'
import { assertDomainAllowed } from './plugins/auth.js'
import { HttpError } from './errors.js'
import { newJob } from './ingest.js'
import { MAX_RECIPIENTS } from './mailgun-fields.js'

/** A Mailgun-compatible request (/v3/:domain/messages[.mime]) as parsed form parts. */
export interface MailgunForm {
  domain: string
  endpoint: JobData['endpoint']
  fields: Array<[string, string]>
  files: FileData[]
}

const MESSAGE_ID = /^<[^<>\s@]+@[^<>\s@]+>$/

const values = (form: MailgunForm, name: string): string[] => form.fields.filter(([k]) => k === name).map(([, v]) => v)
const recipients = (list: string[]): number => list.reduce((n, v) => n + v.split(',').filter((s) => s.trim()).length, 0)

/** Mailgun's own 400s (mailgun-api.md §3), so a drop-in client sees the answers it knows. */
function mailgunProblem (form: MailgunForm): string | null {
  if (form.endpoint === 'messages' && values(form, 'from').length === 0) return 'from parameter is missing'
  if (values(form, 'to').length === 0) return 'to parameter is missing'
  if (form.endpoint === 'messages.mime' && !form.files.some((f) => f.field === 'message')) {
    return values(form, 'message').length > 0 ? "'message' parameter is not a file" : 'message parameter is missing'
  }
  if (form.endpoint === 'messages' && !['text', 'html', 'amp-html', 'template'].some((k) => values(form, k).length > 0)) {
    return "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
  }
  if (recipients(values(form, 'to')) + recipients(values(form, 'cc')) + recipients(values(form, 'bcc')) > MAX_RECIPIENTS) {
    return `Too many recipients, max is ${MAX_RECIPIENTS}`
  }
  return null
}

/**
 * A drop-in request → its job. The fields go to Mailgun as given; a valid h:Message-Id of the
 * caller's is kept (Mailgun honours it too), otherwise ours is added.
 */
export function prepareMailgunForm (form: MailgunForm, client: ClientConfig, config: Config, now: number): JobData {
  const domain = form.domain.toLowerCase()
  assertDomainAllowed(client, domain)
  const domainConfig = config.domains.get(domain)
  if (!domainConfig) throw new HttpError('MQ_ERR_DOMAIN_UNKNOWN', form.domain)
  const problem = mailgunProblem(form)
  if (problem) throw new HttpError('MQ_ERR_VALIDATION', problem)
  const given = form.fields.find(([k, v]) => k.toLowerCase() === 'h:message-id' && MESSAGE_ID.test(v.trim()))?.[1].trim()
  const fields = form.fields.filter(([k]) => k.toLowerCase() !== 'h:message-id')
  const message = { sendAt: null, lane: 'transactional' as const, endpoint: form.endpoint, fields, files: form.files }
  return newJob(domainConfig, config, now, given === undefined ? message : { ...message, messageId: given })
}
