/**
 * Reads a send's body the way Mailgun takes it: `application/x-www-form-urlencoded` (a lean hand
 * loop) or `multipart/form-data` (@fastify/busboy). Repeated fields are kept in order; files are
 * counted, not kept. Failures carry Mailgun's status and text (reference: mailgun-api.md §3).
 */
import type { IncomingMessage } from 'node:http'
import { Busboy } from '@fastify/busboy'

export interface FileInfo { field: string, filename: string, contentType: string, size: number }

export interface ParsedForm {
  fields: Record<string, string[]>
  files: FileInfo[]
  /** The media type without parameters, e.g. `multipart/form-data`. */
  contentType: string
}

/** Mailgun's request limit: 52.4 MiB. */
export const MAX_REQUEST_BYTES = Math.floor(52.4 * 1024 * 1024)

/** A body Mailgun would refuse: `status` and `message` are Mailgun's. */
export class FormError extends Error {
  constructor (readonly status: number, message: string) {
    super(message)
    this.name = 'FormError'
  }
}

export const tooLarge = (): FormError => new FormError(413, 'request size exceeds 52.4MiB limit')

function push (fields: Record<string, string[]>, name: string, value: string): void {
  if (name === '__proto__') return
  if (Object.hasOwn(fields, name)) (fields[name] as string[]).push(value)
  else fields[name] = [value]
}

const BAD_ESCAPE = /%(?![0-9a-fA-F]{2})/

function decode (s: string): string {
  if (s.includes('+')) s = s.replace(/\+/g, ' ')
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    if (BAD_ESCAPE.test(s)) throw new FormError(400, 'unable to parse request: invalid URL escape')
    return new URLSearchParams('v=' + s.replace(/&/g, '%26')).get('v') ?? '' // well-formed escapes of invalid UTF-8
  }
}

/** `a=1&b=2&a=3` → `{ a: ['1', '3'], b: ['2'] }`; throws Mailgun's 400 on a malformed escape. */
export function parseUrlencoded (text: string): Record<string, string[]> {
  const fields: Record<string, string[]> = {}
  let start = 0
  while (start <= text.length) {
    let end = text.indexOf('&', start)
    if (end === -1) end = text.length
    if (end > start) {
      const eq = text.indexOf('=', start)
      if (eq === -1 || eq > end) push(fields, decode(text.slice(start, end)), '')
      else push(fields, decode(text.slice(start, eq)), decode(text.slice(eq + 1, end)))
    }
    start = end + 1
  }
  return fields
}

function mediaType (header: string | undefined): string {
  if (header === undefined) return ''
  const semi = header.indexOf(';')
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase()
}

/**
 * Reads the whole body. Another media type than the two Mailgun takes yields no fields (so the
 * send fails Mailgun's own checks). Rejects with FormError for 400/413; the caller answers it.
 */
export function readForm (req: IncomingMessage): Promise<ParsedForm> {
  const contentType = mediaType(req.headers['content-type'])
  if (contentType === 'multipart/form-data') return readMultipart(req)
  return new Promise((resolve, reject) => {
    let first: Buffer | null = null
    let chunks: Buffer[] | null = null
    let size = 0
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > MAX_REQUEST_BYTES) {
        req.off('data', onData)
        req.pause()
        reject(tooLarge())
        return
      }
      if (first === null) first = chunk
      else (chunks ??= [first]).push(chunk)
    }
    req.on('data', onData)
    req.once('error', reject)
    req.once('end', () => {
      if (size > MAX_REQUEST_BYTES) return
      if (contentType !== 'application/x-www-form-urlencoded') {
        resolve({ fields: {}, files: [], contentType })
        return
      }
      const body: Buffer | null = chunks ? Buffer.concat(chunks) : first
      try {
        resolve({ fields: body ? parseUrlencoded(body.toString('utf8')) : {}, files: [], contentType })
      } catch (err) {
        reject(err)
      }
    })
  })
}

function readMultipart (req: IncomingMessage): Promise<ParsedForm> {
  const fields: Record<string, string[]> = {}
  const files: FileInfo[] = []
  return new Promise((resolve, reject) => {
    let settled = false
    const fail = (err: FormError): void => {
      if (settled) return
      settled = true
      req.unpipe()
      req.off('data', count)
      req.pause()
      reject(err)
    }
    let size = 0
    const count = (chunk: Buffer): void => {
      size += chunk.length
      if (size > MAX_REQUEST_BYTES) fail(tooLarge())
    }
    let bb: ReturnType<typeof Busboy>
    try {
      bb = new Busboy({
        headers: req.headers as never,
        limits: { fieldSize: MAX_REQUEST_BYTES, fileSize: Infinity, fields: Infinity, files: Infinity, parts: Infinity }
      })
    } catch {
      req.resume()
      fail(new FormError(400, 'malformed multipart/form-data request'))
      return
    }
    bb.on('field', (name: string, value: string) => push(fields, name, value))
    bb.on('file', (field: string, stream: NodeJS.ReadableStream, filename: string, _enc: string, mime: string) => {
      const file: FileInfo = { field, filename, contentType: mime, size: 0 }
      files.push(file) // in part order, sizes filled as the part streams
      stream.on('data', (c: Buffer) => { file.size += c.length })
    })
    bb.on('error', () => fail(new FormError(400, 'malformed multipart/form-data request')))
    bb.on('finish', () => {
      if (settled) return
      settled = true
      resolve({ fields, files, contentType: 'multipart/form-data' })
    })
    req.on('data', count)
    req.once('error', () => fail(new FormError(400, 'unable to parse request: unexpected EOF')))
    req.pipe(bb)
  })
}
