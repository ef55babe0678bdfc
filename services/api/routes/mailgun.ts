import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import type { Config } from '../../../shared/config.js'
import type { Clock } from '../../../shared/clock.js'
import type { Metrics } from '../../../shared/metrics.js'
import type { FileData, JobData } from '../../../shared/queues.js'
import type { RegionLinks } from '../../../shared/region-link.js'
import { errorHandler, HttpError } from '../errors.js'
import { enqueue } from '../enqueue.js'
import { prepareMailgunForm, type MailgunForm } from '../mailgun-form.js'
import { mailgunMessagesDocs, mailgunMimeDocs } from '../schemas/mailgun.js'

export interface MailgunRouteOptions { config: Config, links: RegionLinks, clock: Clock, metrics: Metrics }

/** Mailgun's request size limit (413 above it). */
const MAX_BODY_BYTES = 52_428_800

/**
 * The Mailgun-compatible API: an application using an official Mailgun SDK changes only its base
 * URL and key. Same fields, encodings and answers as Mailgun's own /v3/:domain/messages[.mime].
 */
export const mailgunRoutes: FastifyPluginAsync<MailgunRouteOptions> = async (app, { config, links, clock, metrics }) => {
  // Mailgun's answer shapes: 401 is the plain text `Forbidden`, everything else `{message}`.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.statusCode === 401) return reply.code(401).type('text/plain; charset=utf-8').header('www-authenticate', 'Basic realm="MG API"').send('Forbidden')
    if (err.statusCode === 413 || err.code === 'FST_REQ_FILE_TOO_LARGE') return reply.code(413).send({ message: 'request size exceeds 52.4MiB limit' })
    errorHandler(err, req, reply)
    return reply
  })
  await app.register(formbody, { bodyLimit: MAX_BODY_BYTES })
  await app.register(multipart, { limits: { fileSize: MAX_BODY_BYTES, fieldSize: MAX_BODY_BYTES, files: 1000, fields: 10_000 } })
  app.addHook('onRequest', app.authenticate)

  const send = async (req: FastifyRequest<{ Params: { domain: string } }>, reply: FastifyReply, endpoint: JobData['endpoint']) => {
    const now = clock.now()
    const form = { domain: req.params.domain, endpoint, ...await readForm(req) }
    const data = prepareMailgunForm(form, req.client, config, now)
    await enqueue(links, config, data)
    metrics.countAccepted(data.domain, data.region)
    return reply.code(200).send({ id: data.messageId, message: 'Queued. Thank you.' })
  }
  app.post<{ Params: { domain: string } }>('/v3/:domain/messages', { schema: mailgunMessagesDocs, bodyLimit: MAX_BODY_BYTES }, (req, reply) => send(req, reply, 'messages'))
  app.post<{ Params: { domain: string } }>('/v3/:domain/messages.mime', { schema: mailgunMimeDocs, bodyLimit: MAX_BODY_BYTES }, (req, reply) => send(req, reply, 'messages.mime'))
}

/** Form fields in order (repeated names kept) and files as base64, from either encoding. */
async function readForm (req: FastifyRequest): Promise<Pick<MailgunForm, 'fields' | 'files'>> {
  const fields: Array<[string, string]> = []
  const files: FileData[] = []
  if (req.isMultipart()) {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'attachment' && part.fieldname !== 'inline' && part.fieldname !== 'message') {
          throw new HttpError('MQ_ERR_VALIDATION', `unexpected file field ${part.fieldname}`)
        }
        const content = (await part.toBuffer()).toString('base64')
        files.push({ field: part.fieldname, filename: part.filename || 'file', contentType: part.mimetype, content })
      } else {
        fields.push([part.fieldname, String(part.value)])
      }
    }
    return { fields, files }
  }
  if (req.body === undefined || req.body === null || typeof req.body !== 'object') throw new HttpError('MQ_ERR_VALIDATION', 'malformed form request')
  for (const [name, value] of Object.entries(req.body as Record<string, string | string[]>)) {
    for (const v of Array.isArray(value) ? value : [value]) fields.push([name, v])
  }
  return { fields, files }
}
