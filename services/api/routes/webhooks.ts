import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Config } from '../../../shared/config.js'
import type { Clock } from '../../../shared/clock.js'
import { toIso } from '../../../shared/dates/index.js'
import type { RegionLinks } from '../../../shared/region-link.js'
import type { ProviderEvent } from '../../../shared/records.js'
import { HttpError } from '../errors.js'

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
    recipient: Type.Optional(Type.String()),
    severity: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    'delivery-status': Type.Optional(Type.Object({ code: Type.Optional(Type.Integer()), message: Type.Optional(Type.String()), description: Type.Optional(Type.String()) }))
  })
})

/**
 * POST /v1/webhooks/mailgun: Mailgun's event webhooks, signed with a domain's webhookSigningKey
 * (HMAC-SHA256 of timestamp + token). Fails closed: no key configured, no acceptance.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRouteOptions> = async (app, { config, links, clock }) => {
  const keys = [...config.domains.values()].flatMap((d) => d.webhookSigningKey ? [d.webhookSigningKey] : [])
  const anyLink = [...links.links.values()][0]

  app.post('/v1/webhooks/mailgun', { schema: { body: WebhookSchema, hide: true } }, async (req) => {
    const { signature, 'event-data': data } = req.body
    const given = Buffer.from(signature.signature.toLowerCase(), 'hex')
    const signed = keys.some((k) => timingSafeEqual(createHmac('sha256', k.reveal()).update(signature.timestamp + signature.token).digest(), given))
    if (!signed) throw new HttpError('MQ_ERR_UNAUTHORIZED')
    if (Math.abs(clock.now() - Number(signature.timestamp) * 1000) > MAX_SKEW_MS) throw new HttpError('MQ_ERR_VALIDATION', 'signature.timestamp is stale')

    const target = recordOf(data.message?.headers?.['message-id'] ?? '')
    const link = (target && links.links.get(target.region)) ?? anyLink
    if (!link) return { status: 'ignored' }
    const fresh = await link.storeRedis.set(link.keys.webhookToken(signature.token), '1', 'EX', TOKEN_TTL_SECONDS, 'NX')
    if (fresh !== 'OK') throw new HttpError('MQ_ERR_CONFLICT', 'signature.token was already used')
    const partition = target && await links.resolve(target.id)
    if (!partition) return { status: 'ignored' }

    const event: ProviderEvent = { event: data.event, at: toIso(Math.round(data.timestamp * 1000)) }
    if (data.recipient) event.recipient = data.recipient
    if (data.severity) event.severity = data.severity
    if (data.reason) event.reason = data.reason
    if (data['delivery-status']) event.deliveryStatus = data['delivery-status']
    await partition.store.appendEvent(target.id, event)
    return { status: 'recorded' }
  })

  /** Our Message-Ids are `<local@domain>` and our ids `<region>-<local>`: no index needed. */
  function recordOf (messageId: string): { id: string, region: 'us' | 'eu' } | null {
    const m = /^<?((?:\d{1,3}\.\d{1,3}\.)?[0-9a-f-]{36})@([^>]+)>?$/i.exec(messageId.trim())
    const domain = m?.[2] ? config.domains.get(m[2].toLowerCase()) : undefined
    return m?.[1] && domain ? { id: `${domain.region}-${m[1]}`, region: domain.region } : null
  }
}
