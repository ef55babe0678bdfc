/**
 * multipart/form-data bodies of the Mailgun-compatible API, read with busboy under Mailgun's
 * limits while they stream: a request past 52.4 MiB, or a message (text, html, amp-html and files)
 * past 25 MB, is refused with a 413 as soon as the limit is crossed, so no oversized body is ever
 * held in memory; a body busboy cannot read (no boundary, truncated, bad part headers) is a 400.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { Busboy } from '@fastify/busboy'
import type { FileData } from '../../shared/queues.js'
import { HttpError } from './errors.js'
import { nameLabel } from './validation/labels.js'
import { MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES } from './validation/limits.js'

/** A multipart form: fields in order (repeated names kept), files as base64. */
export class MultipartBody {
  constructor (readonly fields: Array<[string, string]>, readonly files: FileData[]) {}
}

const FILE_FIELDS = new Set(['attachment', 'inline', 'message'])
const BODY_FIELDS = new Set(['text', 'html', 'amp-html'])
/** Longer field names than this are refused rather than cut short (busboy's default would cut at 100). */
const MAX_FIELD_NAME_BYTES = 1024

export const requestTooLarge = (): HttpError => new HttpError('MQ_ERR_TOO_LARGE', 'request size exceeds 52.4MiB limit')
const messageTooLarge = (label: string): HttpError =>
  new HttpError('MQ_ERR_TOO_LARGE', `${label} brings the message (text, html, amp-html and files) over Mailgun's limit of ${MAX_MESSAGE_BYTES / 1_000_000} MB`)
const malformed = (): HttpError => new HttpError('MQ_ERR_VALIDATION', 'malformed multipart/form-data request')

export function readMultipart (payload: Readable, headers: IncomingHttpHeaders): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    if (Number(headers['content-length']) > MAX_REQUEST_BYTES) return reject(requestTooLarge())
    let bb: InstanceType<typeof Busboy>
    try {
      bb = new Busboy({
        headers: headers as IncomingHttpHeaders & { 'content-type': string },
        limits: { fieldNameSize: MAX_FIELD_NAME_BYTES, fieldSize: MAX_MESSAGE_BYTES + 1, fileSize: MAX_MESSAGE_BYTES + 1, fields: 10_000, files: 1000 }
      })
    } catch {
      return reject(malformed()) // no boundary, or not multipart at all
    }
    const fields: Array<[string, string]> = []
    const files: FileData[] = []
    const filesRead: Array<Promise<void>> = []
    let requestBytes = 0
    let messageBytes = 0
    let settled = false
    const fail = (err: HttpError): void => {
      if (settled) return
      settled = true
      payload.unpipe(bb)
      payload.resume() // the rest is read and dropped, so the caller still gets the answer
      reject(err)
    }

    payload.on('data', (chunk: Buffer) => {
      requestBytes += chunk.length
      if (requestBytes > MAX_REQUEST_BYTES) fail(requestTooLarge())
    })
    payload.on('error', () => fail(malformed()))
    bb.on('field', (name: string, value: string, nameTruncated: boolean, valueTruncated: boolean) => {
      if (nameTruncated) return fail(new HttpError('MQ_ERR_VALIDATION', `a field name is longer than ${MAX_FIELD_NAME_BYTES} bytes`))
      if (valueTruncated) return fail(messageTooLarge(nameLabel(name)))
      if (BODY_FIELDS.has(name)) {
        messageBytes += Buffer.byteLength(value)
        if (messageBytes > MAX_MESSAGE_BYTES) return fail(messageTooLarge(name))
      }
      fields.push([name, value])
    })
    bb.on('file', (name: string, stream: Readable, filename: string | undefined, _encoding: string, mime: string) => {
      if (!FILE_FIELDS.has(name)) {
        stream.resume()
        return fail(new HttpError('MQ_ERR_VALIDATION', `unexpected file field ${nameLabel(name)}`))
      }
      const file: FileData = { field: name as FileData['field'], filename: filename || 'file', contentType: mime, content: '' }
      files.push(file)
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => {
        messageBytes += chunk.length
        if (messageBytes > MAX_MESSAGE_BYTES) fail(messageTooLarge(name))
        else if (!settled) chunks.push(chunk)
      })
      filesRead.push(new Promise((done) => stream.once('end', () => {
        file.content = Buffer.concat(chunks).toString('base64')
        done()
      })))
    })
    const tooMany = (what: string) => () => fail(new HttpError('MQ_ERR_VALIDATION', `too many ${what} in one request`))
    bb.on('partsLimit', tooMany('parts'))
    bb.on('filesLimit', tooMany('files'))
    bb.on('fieldsLimit', tooMany('fields'))
    bb.on('error', () => fail(malformed()))
    bb.on('finish', () => {
      void Promise.all(filesRead).then(() => {
        if (settled) return
        settled = true
        resolve(new MultipartBody(fields, files))
      })
    })
    payload.pipe(bb)
  })
}
