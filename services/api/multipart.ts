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
import { MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, MESSAGE_TOO_LARGE } from './validation/limits.js'

/** A multipart form: fields in order (repeated names kept), files as their bytes. */
export class MultipartBody {
  constructor (readonly fields: Array<[string, string]>, readonly files: FileData[]) {}
}

const FILE_FIELDS = new Set(['attachment', 'inline', 'message'])
const BODY_FIELDS = new Set(['text', 'html', 'amp-html'])
/** RFC 7578 §4.7: parts go as they are; a Content-Transfer-Encoding would go unread and corrupt the value. */
const PLAIN_TRANSFER = new Set(['7bit', '8bit', 'binary'])
const MAX_PARTS = 10_000

export const requestTooLarge = (): HttpError => new HttpError('MQ_ERR_TOO_LARGE', 'request size exceeds 52.4MiB limit')
const messageTooLarge = (label: string): HttpError => new HttpError('MQ_ERR_TOO_LARGE', `${label} ${MESSAGE_TOO_LARGE}`)
const malformed = (): HttpError => new HttpError('MQ_ERR_VALIDATION', 'malformed multipart/form-data request')
const refuse = (message: string): HttpError => new HttpError('MQ_ERR_VALIDATION', message)
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Every part is read as bytes (busboy's own text decoding turns a charset it does not know into
 * garbage without a word): a part with a filename is a file, any other a field, read as UTF-8
 * (RFC 7578 §5.1.2) and refused when it is not.
 */
export function readMultipart (payload: Readable, headers: IncomingHttpHeaders): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    if (Number(headers['content-length']) > MAX_REQUEST_BYTES) return reject(requestTooLarge())
    let bb: InstanceType<typeof Busboy>
    try {
      bb = new Busboy({
        headers: headers as IncomingHttpHeaders & { 'content-type': string },
        isPartAFile: () => true,
        limits: { fileSize: MAX_REQUEST_BYTES, files: MAX_PARTS, parts: MAX_PARTS }
      })
    } catch {
      return reject(malformed()) // no boundary, or not multipart at all
    }
    const fields: Array<[string, string]> = []
    const files: FileData[] = []
    const partsRead: Array<Promise<void>> = []
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
    bb.on('file', (name: string | undefined, stream: Readable, filename: string | undefined, transfer: string, mime: string) => {
      if (!name) {
        stream.resume()
        return fail(refuse('a part has no name (Content-Disposition: form-data; name="…")'))
      }
      const label = nameLabel(name)
      const isFile = filename !== undefined
      if (!PLAIN_TRANSFER.has(transfer)) fail(refuse(`${label} has Content-Transfer-Encoding ${JSON.stringify(transfer)}: parts are sent as they are (RFC 7578 §4.7)`))
      else if (isFile && !FILE_FIELDS.has(name)) fail(refuse(`unexpected file field ${label}`))
      if (settled) return void stream.resume()
      const counts = isFile || BODY_FIELDS.has(name) // toward the message size
      const slot = fields.length
      if (!isFile) fields.push([name, ''])
      const chunks: Buffer[] = []
      stream.on('error', () => fail(malformed())) // a part cut short ("Part terminated early")
      stream.on('data', (chunk: Buffer) => {
        if (counts) messageBytes += chunk.length
        if (messageBytes > MAX_MESSAGE_BYTES) fail(messageTooLarge(label))
        else if (!settled) chunks.push(chunk)
      })
      partsRead.push(new Promise((done) => stream.once('end', () => {
        if (!settled) {
          // A file keeps the chunks it came in (joining them would copy megabytes for nothing).
          if (isFile) files.push({ field: name as FileData['field'], filename: filename || 'file', contentType: mime, content: chunks })
          else {
            try {
              (fields[slot] as [string, string])[1] = utf8.decode(Buffer.concat(chunks))
            } catch {
              fail(refuse(`${label} is not valid UTF-8`))
            }
          }
        }
        done()
      })))
    })
    const tooMany = (): void => fail(refuse(`a request holds at most ${MAX_PARTS} parts`))
    bb.on('partsLimit', tooMany)
    bb.on('filesLimit', tooMany)
    bb.on('error', () => fail(malformed()))
    bb.on('finish', () => {
      void Promise.all(partsRead).then(() => {
        if (settled) return
        settled = true
        resolve(new MultipartBody(fields, files))
      })
    })
    payload.pipe(bb)
  })
}
