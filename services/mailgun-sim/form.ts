/**
 * Reads a send's body the way Mailgun takes it: `application/x-www-form-urlencoded` (a lean hand
 * loop) or `multipart/form-data` (@fastify/busboy). Repeated fields are kept in order; files are
 * counted, not kept. Failures carry Mailgun's status and text (reference: mailgun-api.md §3).
 *
 * The urlencoded path is the benchmark's hot path: callbacks instead of promises, no closures
 * created per field, names decoded through a small cache, and (for fast mode) values left
 * percent-encoded until someone asks for one with `valueOf`. `invalid` gives Mailgun's 400 texts.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { Busboy } from '@fastify/busboy'

/** A received file: `sha256` (hex) of its bytes, so a test can tell them intact ('' in fast mode). */
export interface FileInfo { field: string, filename: string, contentType: string, size: number, sha256: string }

export interface ParsedForm {
  /** Field values; still percent-encoded when `raw` (read them with `valueOf`). */
  fields: Record<string, string[]>
  files: FileInfo[]
  /** The media type without parameters, e.g. `multipart/form-data`. */
  contentType: string
  /** True when `fields` values were left percent-encoded (fast mode, urlencoded bodies). */
  raw: boolean
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

export type FormCallback = (err: FormError | null, form: ParsedForm | null) => void

function push (fields: Record<string, string[]>, name: string, value: string): void {
  if (name === '__proto__') return
  if (Object.hasOwn(fields, name)) (fields[name] as string[]).push(value)
  else fields[name] = [value]
}

const BAD_ESCAPE = /%(?![0-9a-fA-F]{2})/

/** One urlencoded component → text; throws Mailgun's 400 on a malformed escape. */
export function decode (s: string): string {
  if (s.includes('+')) s = s.replace(/\+/g, ' ')
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    if (BAD_ESCAPE.test(s)) throw new FormError(400, 'unable to parse request: invalid URL escape')
    return new URLSearchParams('v=' + s.replace(/&/g, '%26')).get('v') ?? '' // well-formed escapes of invalid UTF-8
  }
}

/** A field value as text, whether the form kept it raw or decoded. */
export function valueOf (form: ParsedForm, value: string): string {
  return form.raw ? decode(value) : value
}

const names = new Map<string, string>()

/** Field names repeat from request to request: decode each spelling once. */
function decodeName (raw: string): string {
  let name = names.get(raw)
  if (name === undefined) {
    name = decode(raw)
    if (names.size >= 1024) names.clear()
    names.set(raw, name)
  }
  return name
}

/**
 * `a=1&b=2&a=3` → `{ a: ['1', '3'], b: ['2'] }`. With `raw`, values stay percent-encoded (but a
 * malformed escape is still refused). Throws Mailgun's 400 on a malformed escape.
 */
export function parseUrlencoded (text: string, raw = false): Record<string, string[]> {
  const fields: Record<string, string[]> = {}
  let start = 0
  while (start <= text.length) {
    let end = text.indexOf('&', start)
    if (end === -1) end = text.length
    if (end > start) {
      const eq = text.indexOf('=', start)
      if (eq === -1 || eq > end) {
        push(fields, decodeName(text.slice(start, end)), '')
      } else {
        const value = text.slice(eq + 1, end)
        if (raw && value.includes('%') && BAD_ESCAPE.test(value)) throw new FormError(400, 'unable to parse request: invalid URL escape')
        push(fields, decodeName(text.slice(start, eq)), raw ? value : decode(value))
      }
    }
    start = end + 1
  }
  return fields
}

// Mailgun's checks (reference: mailgun-api.md §3, "Documented error messages")

const MAX_RECIPIENTS = 1000
const SEND_OPTIONS_LIMIT = 16 * 1024

/** The addresses in one address field value, trimmed: commas split, except inside quotes or angle brackets. */
export function addresses (value: string): string[] {
  const out: string[] = []
  let start = 0
  let quoted = false
  let angle = false
  for (let i = 0; i <= value.length; i++) {
    const c = i < value.length ? value.charCodeAt(i) : 44
    if (c === 34 /* " */ && value.charCodeAt(i - 1) !== 92 /* \ */) quoted = !quoted
    else if (!quoted && c === 60 /* < */) angle = true
    else if (!quoted && c === 62 /* > */) angle = false
    else if (c === 44 /* , */ && ((!quoted && !angle) || i === value.length)) {
      const address = value.slice(start, i).trim()
      if (address !== '') out.push(address)
      start = i + 1
    }
  }
  return out
}

/** `user@example.com` of `Name <user@example.com>` or of a bare address. */
export function addrSpec (address: string): string {
  const open = address.lastIndexOf('<')
  const close = address.indexOf('>', open)
  return open >= 0 && close > open ? address.slice(open + 1, close).trim() : address
}

/** Recipients in one `to` value; a raw value without an encoded comma is decoded only to see if blank. */
function countRecipients (form: ParsedForm, v: string): number {
  if (form.raw && !v.includes(',') && !v.includes('%2C') && !v.includes('%2c')) return present(form, [v]) ? 1 : 0
  return addresses(valueOf(form, v)).length
}

/** Whether a field has a non-blank value (raw values are decoded only when they could be blank). */
function present (form: ParsedForm, values: string[] | undefined): boolean {
  if (values === undefined) return false
  for (const v of values) {
    if (v === '') continue
    const c = v.charCodeAt(0)
    if (c > 32 && c !== 43 /* + */ && c !== 37 /* % */) return true
    if (valueOf(form, v).trim() !== '') return true
  }
  return false
}

/** The first value of a field whose name matches case-insensitively (`h:Message-Id`, `h:message-id`, …). */
export function fieldCi (fields: Record<string, string[]>, lower: string): string | undefined {
  const exact = fields[lower]
  if (exact) return exact[0]
  for (const name in fields) if (name.length === lower.length && name.toLowerCase() === lower) return fields[name]?.[0]
  return undefined
}

/** `o:`, `h:` and `v:` names: Mailgun's "send options". */
function isOption (name: string): boolean {
  if (name.charCodeAt(1) !== 58 /* : */) return false
  const c = name.charCodeAt(0) | 32
  return c === 111 /* o */ || c === 104 /* h */ || c === 118 /* v */
}

/** Bytes of send options; raw values are measured encoded first (never shorter than the text). */
function optionBytes (form: ParsedForm): number {
  let bytes = 0
  for (const name in form.fields) {
    if (!isOption(name)) continue
    for (const v of form.fields[name] ?? []) bytes += Buffer.byteLength(name) + (form.raw ? v.length : Buffer.byteLength(v))
  }
  if (bytes <= SEND_OPTIONS_LIMIT || !form.raw) return bytes
  bytes = 0
  for (const name in form.fields) {
    if (!isOption(name)) continue
    for (const v of form.fields[name] ?? []) bytes += Buffer.byteLength(name) + Buffer.byteLength(decode(v))
  }
  return bytes
}

/** Mailgun's 400 text for a send it would refuse, in the order listed in the reference; null: acceptable. */
export function invalid (endpoint: 'messages' | 'messages.mime', form: ParsedForm): string | null {
  const f = form.fields
  if (endpoint === 'messages' && !present(form, f.from) && !present(form, f.template)) return 'from parameter is missing'
  if (!present(form, f.to)) return 'to parameter is missing'
  if (endpoint === 'messages.mime') {
    if (!form.files.some((x) => x.field === 'message') && !present(form, f.message)) return 'message parameter is missing'
  } else {
    if (!present(form, f.text) && !present(form, f.html) && !present(form, f['amp-html']) && !present(form, f.template)) {
      return "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
    }
    if (present(form, f.html) && present(form, f.template)) return "Only one parameters 'html' or 'template' is allowed"
  }
  let to = 0
  for (const v of f.to ?? []) to += countRecipients(form, v)
  if (to > MAX_RECIPIENTS) return 'Too many recipients, max is 1000'
  const rv = f['recipient-variables']?.[0]
  if (rv !== undefined) {
    try { JSON.parse(valueOf(form, rv)) } catch { return "'recipient-variables' parameter is not a valid JSON" }
  }
  if (optionBytes(form) > SEND_OPTIONS_LIMIT) return 'Send options (parameters starting with o:, h:, or v:) are limited to 16 kB total'
  return null
}

// Reading the body

function mediaType (header: string | undefined): string {
  if (header === undefined) return ''
  const semi = header.indexOf(';')
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase()
}

function ignore (): void {}

/**
 * Reads the whole body and calls `done` once. Another media type than the two Mailgun takes
 * yields no fields (so the send fails Mailgun's own checks). `raw`: leave urlencoded values
 * percent-encoded. Errors are FormError (400/413); the caller answers them.
 */
export function readForm (req: IncomingMessage, contentTypeHeader: string | undefined, raw: boolean, done: FormCallback): void {
  const contentType = mediaType(contentTypeHeader)
  if (contentType === 'multipart/form-data') return readMultipart(req, !raw, done)
  let first: Buffer | null = null
  let more: Buffer[] | null = null
  let size = 0
  let over = false
  req.on('error', ignore)
  req.on('data', function (chunk: Buffer) {
    if (over) return
    size += chunk.length
    if (size > MAX_REQUEST_BYTES) {
      over = true
      req.pause()
      done(tooLarge(), null)
      return
    }
    if (first === null) first = chunk
    else if (more === null) more = [first, chunk]
    else more.push(chunk)
  })
  req.on('end', function () {
    if (over) return
    if (contentType !== 'application/x-www-form-urlencoded') {
      done(null, { fields: {}, files: [], contentType, raw: false })
      return
    }
    const body = more !== null ? Buffer.concat(more) : first
    let fields: Record<string, string[]>
    try {
      fields = body === null ? {} : parseUrlencoded(body.toString('utf8'), raw)
    } catch (err) {
      done(err as FormError, null)
      return
    }
    done(null, { fields, files: [], contentType, raw })
  })
}

/** `hashFiles`: take each file's SHA-256 (full mode; fast mode keeps no files). */
function readMultipart (req: IncomingMessage, hashFiles: boolean, done: FormCallback): void {
  const fields: Record<string, string[]> = {}
  const files: FileInfo[] = []
  let settled = false
  let size = 0
  const fail = (err: FormError): void => {
    if (settled) return
    settled = true
    req.unpipe()
    req.pause()
    done(err, null)
  }
  let bb: ReturnType<typeof Busboy>
  try {
    bb = new Busboy({
      headers: req.headers as never,
      limits: { fieldSize: MAX_REQUEST_BYTES, fileSize: Infinity, fields: Infinity, files: Infinity, parts: Infinity }
    })
  } catch {
    fail(new FormError(400, 'malformed multipart/form-data request'))
    return
  }
  bb.on('field', (name: string, value: string) => push(fields, name, value))
  bb.on('file', (field: string, stream: NodeJS.ReadableStream, filename: string, _enc: string, mime: string) => {
    const file: FileInfo = { field, filename, contentType: mime, size: 0, sha256: '' }
    files.push(file) // in part order; the size grows as the part streams
    const hash = hashFiles ? createHash('sha256') : null
    stream.on('data', (c: Buffer) => { file.size += c.length; hash?.update(c) })
    stream.on('end', () => { file.sha256 = hash?.digest('hex') ?? '' })
  })
  bb.on('error', () => fail(new FormError(400, 'malformed multipart/form-data request')))
  bb.on('finish', () => {
    if (settled) return
    settled = true
    done(null, { fields, files, contentType: 'multipart/form-data', raw: false })
  })
  req.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > MAX_REQUEST_BYTES) fail(tooLarge())
  })
  req.once('error', () => fail(new FormError(400, 'unable to parse request: unexpected EOF')))
  req.pipe(bb)
}
