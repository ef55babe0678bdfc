/**
 * Which message a Mailgun event is about, in two separate steps: first the configured domain it
 * belongs to (whose webhookSigningKey alone may verify it), then the message within that domain
 * (services/api/message-lookup.ts, which uses ourIdOf). Pure: no I/O.
 */
import type { DomainConfig } from '../../shared/config.js'

/** The parts of `event-data` that say where an event belongs. */
export interface EventOrigin {
  message?: { headers?: { 'message-id'?: string } }
  /** Mailgun names the sending domain here (webhook payloads, domain and account level alike). */
  domain?: { name?: string }
}

/** `local@domain` of a Message-Id, with or without its angle brackets (events send it without). */
export function splitMessageId (messageId: string): { local: string, domain: string } | null {
  const m = /^<?([^<>@\s]+)@([^<>@\s]+?)>?$/.exec(messageId.trim())
  return m ? { local: m[1] as string, domain: (m[2] as string).toLowerCase() } : null
}

/**
 * The configured domain an event belongs to: its Message-Id's domain when that is one of ours,
 * else the sending domain `event-data.domain.name` names; null when neither is configured. An
 * event is verified with this domain's key and no other, so one tenant's key can never vouch
 * for another tenant's messages.
 */
export function eventDomain (event: EventOrigin, domains: ReadonlyMap<string, DomainConfig>): DomainConfig | null {
  const messageId = event.message?.headers?.['message-id']
  const byId = messageId ? domains.get(splitMessageId(messageId)?.domain ?? '') : undefined
  if (byId) return byId
  const named = event.domain?.name?.toLowerCase()
  return (named ? domains.get(named) : undefined) ?? null
}

/** The local part of our own ids: a uuid, or `<p>.<n>.<uuid>` for partition p of n. */
const LOCAL_ID = /^(?:\d+\.\d+\.)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The id a Message-Id of our form names: ours are `<local@domain>` for the id `<region>-<local>`,
 * so no index is needed. Only a candidate: a caller may choose a Message-Id of the same form
 * (nodemailer's are `<uuid@sender-domain>`), so the message found must carry this Message-Id.
 */
export function ourIdOf (messageId: string, domains: ReadonlyMap<string, DomainConfig>): string | null {
  const parts = splitMessageId(messageId)
  const domain = parts && domains.get(parts.domain)
  if (!parts || !domain || !LOCAL_ID.test(parts.local)) return null
  return `${domain.region}-${parts.local.toLowerCase()}`
}
