import { Type } from '@sinclair/typebox'
import { ErrorSchema } from './message.js'

const refusal = (description: string) => Type.Object(ErrorSchema.properties, { description })

/**
 * Documentation of POST /v1/webhooks/mailgun. Its body schema is the route's own: Mailgun's
 * `{signature: {timestamp, token, signature}, "event-data": {…}}`.
 */
export const webhookDocs = {
  security: [],
  summary: 'Receive a Mailgun event webhook',
  description: 'Point Mailgun\'s webhooks here. No client key: the signature (HMAC-SHA256 of timestamp + token) is checked with the webhookSigningKey of the domain the event belongs to; stale timestamps and reused tokens are refused. The event is added to the record of its message.',
  response: {
    200: Type.Object({ status: Type.String({ description: '"recorded", or "ignored" for a message mailqueue does not know' }) }, { description: 'Taken' }),
    400: refusal('Not a Mailgun event, or a stale timestamp'),
    401: refusal('The signature matches no configured webhook signing key'),
    409: refusal('The token was already used (a replay)')
  }
}
