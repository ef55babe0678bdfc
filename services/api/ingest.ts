import { randomUUID } from 'node:crypto'
import type { ClientConfig, Config, DomainConfig } from '../../shared/config.js'
import { layoutOf, newLocalId } from '../../shared/partitions.js'
import type { NewJob } from '../../shared/queues.js'
import type { Accepted, MessageInput } from './schemas/message.js'
import { assertDomainAllowed } from './plugins/auth.js'
import { HttpError } from './errors.js'
import { checkNativeFields, instantOf, nativeFields } from './mailgun-fields.js'
import { within } from './validation/labels.js'

/**
 * A validated native message → the job that carries it. Throws HttpError (400/403/413) for what
 * the schema could not say. `partition`: which of the region's queues (random when omitted);
 * `root` names a batch item in errors (`messages[4]`).
 */
export function prepareMessage (m: MessageInput, client: ClientConfig, config: Config, now: number, partition?: number, root = ''): NewJob {
  const domain = m.domain.toLowerCase()
  assertDomainAllowed(client, domain)
  const domainConfig = config.domains.get(domain)
  if (!domainConfig) throw new HttpError('MQ_ERR_VALIDATION', `domain "${m.domain}" is not configured`)
  const native = nativeFields(m, root)
  const sendAt = m.sendAt !== undefined ? instantOf(m.sendAt, within(root, 'sendAt')) : null
  const data = newJob(domainConfig, config, now, { sendAt, lane: m.lane ?? 'transactional', endpoint: 'messages', fields: native.fields, files: native.files }, partition)
  checkNativeFields(native, data.messageId, root)
  return data
}

/**
 * The job of a message for a configured domain. Its id is `<region>-<local>`: the region sends
 * later lookups straight to that region's Redis, `local` names the partition (see
 * shared/partitions.ts) and is the local part of the default Message-Id `<local@domain>`.
 */
export function newJob (domain: DomainConfig, config: Config, now: number,
  message: Pick<NewJob, 'sendAt' | 'lane' | 'endpoint' | 'fields' | 'files'> & { messageId?: string }, partition?: number): NewJob {
  const local = newLocalId(layoutOf(config, domain.region), randomUUID(), partition)
  return { id: `${domain.region}-${local}`, messageId: `<${local}@${domain.name}>`, domain: domain.name, region: domain.region, createdAt: now, ...message }
}

export function acceptedAnswer (data: NewJob, now: number): Accepted {
  return { id: data.id, messageId: data.messageId, status: data.sendAt !== null && data.sendAt > now ? 'scheduled' : 'queued' }
}
