import { randomUUID } from 'node:crypto'
import type { ClientConfig, Config, DomainConfig } from '../../shared/config.js'
import type { JobData } from '../../shared/queues.js'
import type { Accepted, MessageInput } from './schemas/message.js'
import { assertDomainAllowed } from './plugins/auth.js'
import { HttpError } from './errors.js'
import { checkedMailgunFields, instantOf } from './mailgun-fields.js'
import { within } from './validation/labels.js'

/**
 * A validated native message → the job that carries it. Throws HttpError (400/403/413) for what
 * the schema could not say; `root` names a batch item in errors (`messages[4]`).
 */
export function prepareMessage (m: MessageInput, client: ClientConfig, config: Config, now: number, root = ''): JobData {
  const domain = m.domain.toLowerCase()
  assertDomainAllowed(client, domain)
  const domainConfig = config.domains.get(domain)
  if (!domainConfig) throw new HttpError('MQ_ERR_VALIDATION', `domain "${m.domain}" is not configured`)
  const uuid = randomUUID()
  const messageId = `<${uuid}@${domain}>`
  const fields = checkedMailgunFields(m, messageId, root)
  const sendAt = m.sendAt !== undefined ? instantOf(m.sendAt, within(root, 'sendAt')) : null
  return newJob(domainConfig, uuid, now, { messageId, sendAt, lane: m.lane ?? 'transactional', endpoint: 'messages', ...fields })
}

/**
 * The job of a message for a configured domain. Its id starts with the region, so later lookups
 * go straight to that region's Redis, and ends with the uuid of its default Message-Id.
 */
export function newJob (domain: DomainConfig, uuid: string, now: number,
  message: Pick<JobData, 'messageId' | 'sendAt' | 'lane' | 'endpoint' | 'fields' | 'files'>): JobData {
  return { id: `${domain.region}-${uuid}`, domain: domain.name, region: domain.region, createdAt: now, ...message }
}

export function acceptedAnswer (data: JobData, now: number): Accepted {
  return { id: data.id, messageId: data.messageId, status: data.sendAt !== null && data.sendAt > now ? 'scheduled' : 'queued' }
}
