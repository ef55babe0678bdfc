import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Config } from '../../../shared/config.js'
import type { Clock } from '../../../shared/clock.js'
import { toIso } from '../../../shared/dates/index.js'
import type { RegionLinks } from '../../../shared/region-link.js'
import type { ProviderEvent } from '../../../shared/records.js'
import { HttpError } from '../errors.js'
import { webhookDocs } from '../schemas/webhook.js'
import { findByMessageId } from '../message-lookup.js'
import { eventDomain } from '../webhook-events.js'

export interface WebhookRouteOptions { config: Config, links: RegionLinks, clock: Clock }

/** Signatures older or newer than this are refused (Mailgun's own sample uses 15 s; retries come later). */
const MAX_SKEW_MS = 10 * 60_000
/** Tokens are remembered this long to refuse replays; longer than the accepted skew. */
const TOKEN_TTL_SECONDS = 3600

const WebhookSchema = Type.Object({
  signature: Type.Object({ timestamp: Type.String({ pattern: '^[0-9]+$' }), token: Type.String({ minLength: 1, maxLength: 200 }), signature: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) }),
  'event-data': Type.Object({
    event: Type.String({ minLength: 1 }),
    timestamp: Type.Number(),
    message: Type.Optional(Type.Object({ headers: Type.Optional(Type.Object({ 'message-id': Type.Optional(Type.String()) })) })),
    domain: Type.Optional(Type.Object({ name: Type.Optional(Type.String()) })),
    recipient: Type.Optional(Type.String()),
    severity: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    'delivery-status': Type.Optional(Type.Object({ code: Type.Optional(Type.Integer()), message: Type.Optional(Type.String()), description: Type.Optional(Type.String()) }))
  })
})

/**
 * POST /v1/webhooks/mailgun: Mailgun's event webhooks, each verified with the webhookSigningKey
 * of the domain the event belongs to and no other (HMAC-SHA256 of timestamp + token). Fails
 * closed: an event of no configured domain, or of a domain without a key, is never accepted.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRouteOptions> = async (app, { config, links, clock }) => {
  app.post('/v1/webhooks/mailgun', { schema: { ...webhookDocs, body: WebhookSchema } }, async (req) => {
    const { signature, 'event-data': data } = req.body
    const domain = eventDomain(data, config.domains)
    const key = domain?.webhookSigningKey
    if (!domain || !key) throw new HttpError('MQ_ERR_SIGNATURE')
    const expected = createHmac('sha256', key.reveal()).update(signature.timestamp + signature.token).digest()
    if (!timingSafeEqual(expected, Buffer.from(signature.signature, 'hex'))) throw new HttpError('MQ_ERR_SIGNATURE')
    if (Math.abs(clock.now() - Number(signature.timestamp) * 1000) > MAX_SKEW_MS) throw new HttpError('MQ_ERR_VALIDATION', 'signature.timestamp is stale')

    const link = links.get(domain.region)
    const fresh = await link.storeRedis.set(link.keys.webhookToken(signature.token), '1', 'EX', TOKEN_TTL_SECONDS, 'NX')
    if (fresh !== 'OK') throw new HttpError('MQ_ERR_CONFLICT', 'signature.token was already used')
    // Only ever a message of the domain whose key verified the event.
    const messageId = data.message?.headers?.['message-id']
    const found = messageId === undefined ? [] : await findByMessageId(links, config, messageId, [domain.region])
    const id = found.find((r) => r.domain === domain.name)?.id
    const partition = id && await links.resolve(id)
    if (!id || !partition) return { status: 'ignored' }

    const event: ProviderEvent = { event: data.event, at: toIso(Math.round(data.timestamp * 1000)) }
    if (data.recipient) event.recipient = data.recipient
    if (data.severity) event.severity = data.severity
    if (data.reason) event.reason = data.reason
    if (data['delivery-status']) event.deliveryStatus = data['delivery-status']
    await partition.store.appendEvent(id, event)
    return { status: 'recorded' }
  })
}
