import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import { HttpError } from '../errors.js'
import { MAX_JSON_DEPTH, tooDeep } from '../validation/json-depth.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Hex SHA-256 of the body as read, for requests with an Idempotency-Key (their fingerprint); else null. */
    bodySha256: string | null
  }
}

/**
 * JSON bodies: Fastify's own parser (prototype poisoning refused), after a one-pass check that
 * the text nests no deeper than MAX_JSON_DEPTH levels. Deeper text is a 400 naming where, before
 * JSON.parse spends seconds on it or a later step cannot stringify it again.
 */
export const jsonBodyPlugin = fp(async (app) => {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.decorateRequest('bodySha256', null)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const deep = tooDeep(body as string)
    if (deep !== null) return done(new HttpError('MQ_ERR_VALIDATION', `${deep || 'the body'} nests deeper than ${MAX_JSON_DEPTH} levels of JSON`), undefined)
    if (req.headers['idempotency-key'] !== undefined) req.bodySha256 = createHash('sha256').update(body as string).digest('hex')
    parse(req, body as string, done)
  })
}, { name: 'json-body' })
