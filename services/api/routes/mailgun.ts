import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import { parse as parseQuery } from 'fast-querystring'
import type { Config } from '../../../shared/config.js'
import type { Clock } from '../../../shared/clock.js'
import type { JobData } from '../../../shared/queues.js'
import { errorHandler, HttpError } from '../errors.js'
import { storeMessage, type Intake } from '../enqueue.js'
import { prepareMailgunForm, type MailgunForm } from '../mailgun-form.js'
import { mailgunMessagesDocs, mailgunMimeDocs } from '../schemas/mailgun.js'
import { MultipartBody, readMultipart, requestTooLarge } from '../multipart.js'
import { MAX_REQUEST_BYTES } from '../validation/limits.js'

export interface MailgunRouteOptions { config: Config, clock: Clock, intake: Intake }

/**
 * The Mailgun-compatible API: an application using an official Mailgun SDK changes only its base
 * URL and key. Same fields, encodings and answers as Mailgun's own /v3/:domain/messages[.mime].
 */
export const mailgunRoutes: FastifyPluginAsync<MailgunRouteOptions> = async (app, { config, clock, intake }) => {
  // Mailgun's answer shapes: 401 is the plain text `Forbidden`, everything else `{message}`.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.statusCode === 401) return reply.code(401).type('text/plain; charset=utf-8').header('www-authenticate', 'Basic realm="MG API"').send('Forbidden')
    errorHandler(err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? requestTooLarge() : err, req, reply)
    return reply
  })
  // Only the two encodings Mailgun takes: JSON or text here is a 415, never a half-read form.
  app.removeAllContentTypeParsers()
  await app.register(formbody, { bodyLimit: MAX_REQUEST_BYTES, parser: parseUrlencoded })
  app.addContentTypeParser('multipart/form-data', (req, payload, done) => {
    readMultipart(payload, req.headers).then((body) => done(null, body), (err: Error) => done(err, undefined))
  })
  app.addHook('onRequest', app.authenticate)

  const send = async (req: FastifyRequest<{ Params: { domain: string } }>, reply: FastifyReply, endpoint: JobData['endpoint']) => {
    const now = clock.now()
    const form = { domain: req.params.domain, endpoint, ...formOf(req.body) }
    const data = prepareMailgunForm(form, req.client, config, now)
    await storeMessage(intake, req, data, now)
    return reply.code(200).send({ id: data.messageId, message: 'Queued. Thank you.' })
  }
  app.post<{ Params: { domain: string } }>('/v3/:domain/messages', { schema: mailgunMessagesDocs }, (req, reply) => send(req, reply, 'messages'))
  app.post<{ Params: { domain: string } }>('/v3/:domain/messages.mime', { schema: mailgunMimeDocs }, (req, reply) => send(req, reply, 'messages.mime'))
}

/** A "%" not followed by two hex digits: Mailgun refuses the body; the parser would keep it as text. */
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/

function parseUrlencoded (body: string): Record<string, string | string[]> {
  if (BAD_ESCAPE.test(body)) throw new HttpError('MQ_ERR_VALIDATION', 'unable to parse request: invalid URL escape')
  return parseQuery(body) as Record<string, string | string[]>
}

/** Form fields in order (repeated names kept) and files, from either encoding. */
function formOf (body: unknown): Pick<MailgunForm, 'fields' | 'files'> {
  if (body instanceof MultipartBody) return body
  if (body === undefined || body === null || typeof body !== 'object') throw new HttpError('MQ_ERR_VALIDATION', 'malformed form request')
  const fields: Array<[string, string]> = []
  for (const [name, value] of Object.entries(body as Record<string, string | string[]>)) {
    for (const v of Array.isArray(value) ? value : [value]) fields.push([name, v])
  }
  return { fields, files: [] }
}
