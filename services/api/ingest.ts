import { randomUUID } from 'node:crypto'
import type { ClientConfig, Config, DomainConfig } from '../../shared/config.js'
import type { JobData } from '../../shared/queues.js'
import type { Accepted, MessageInput } from './schemas/message.js'
import { assertDomainAllowed } from './plugins/auth.js'
import { HttpError } from './errors.js'
import { checkMessageRules, instantOf, mailgunFields } from './mailgun-fields.js'

/** A validated native message → the job that carries it. Throws HttpError (400/403) for what the schema could not say. */
export function prepareMessage (m: MessageInput, client: ClientConfig, config: Config, now: number): JobData {
  const domain = m.domain.toLowerCase()
  assertDomainAllowed(client, domain)
  const domainConfig = config.domains.get(domain)
  if (!domainConfig) throw new HttpError('MQ_ERR_VALIDATION', `domain "${m.domain}" is not configured`)
  checkMessageRules(m)
  const uuid = randomUUID()
  const messageId = `<${uuid}@${domain}>`
  const sendAt = m.sendAt !== undefined ? instantOf(m.sendAt, 'sendAt') : null
  return newJob(domainConfig, uuid, now, { messageId, sendAt, lane: m.lane ?? 'transactional', endpoint: 'messages', ...mailgunFields(m) })
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
