import fp from 'fastify-plugin'
import { HttpError } from '../errors.js'
import { attachFiles, readJsonBody } from '../json-files.js'
import { MAX_JSON_DEPTH, tooDeep } from '../validation/json-depth.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Hex SHA-256 of the body as read, for requests with an Idempotency-Key (their fingerprint); else null. */
    bodySha256: string | null
  }
}

export interface JsonBodyOptions {
  /** Routes whose body is one native message: its files are decoded as the body streams in (json-files.ts). */
  fileRoutes: readonly string[]
}

/**
 * Bodies up to this size are parsed whole, files decoded afterwards (the same bytes, the same
 * errors): the scan would only cost time on the small messages that make up nearly all traffic.
 */
const SCAN_ABOVE_BYTES = 256 * 1024

/**
 * JSON bodies: read with Fastify's own limits, then Fastify's own parser (prototype poisoning
 * refused), after a one-pass check that the text nests no deeper than MAX_JSON_DEPTH levels.
 * Deeper text is a 400 naming where, before JSON.parse spends seconds on it or a later step
 * cannot stringify it again.
 */
export const jsonBodyPlugin = fp<JsonBodyOptions>(async (app, { fileRoutes }) => {
  const parse = app.getDefaultJsonParser('error', 'error')
  const limit = app.initialConfig.bodyLimit ?? 1024 * 1024
  const withFiles = new Set(fileRoutes)
  app.decorateRequest('bodySha256', null)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', (req, payload, done) => {
    const small = Number(req.headers['content-length']) <= SCAN_ABOVE_BYTES
    const options = { limit, files: !small && withFiles.has(req.routeOptions.url ?? ''), hash: req.headers['idempotency-key'] !== undefined }
    readJsonBody(payload, req.headers, options).then((body) => {
      const deep = tooDeep(body.text)
      if (deep !== null) return done(new HttpError('MQ_ERR_VALIDATION', `${deep || 'the body'} nests deeper than ${MAX_JSON_DEPTH} levels of JSON`), undefined)
      req.bodySha256 = body.sha256
      parse(req, body.text, (err, parsed) => {
        if (!err) attachFiles(parsed, body.files)
        done(err, parsed)
      })
    }, (err: Error) => done(err, undefined))
  })
}, { name: 'json-body' })
