/**
 * A JSON body read as it streams in, with the files of a native message taken out on the way:
 * each `attachments[i].content` and `inline[i].content` is decoded from base64 into bytes as its
 * chunks arrive, and left in the text as "". A 20 MB attachment then costs its 20 MB of bytes,
 * never a 27 MB body string plus a 27 MB parsed string plus the decoded copy. Everything else of
 * the body is kept as text for the JSON parser, which still checks all of it.
 *
 * The scan only follows the structure (objects, arrays, keys, strings): for valid JSON it knows
 * exactly where each value is, and invalid JSON stays invalid once a string is replaced by "".
 */
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { errorCodes } from 'fastify'
import { HttpError } from './errors.js'

/** Where a file's bytes hang on its object of the parsed body; a symbol, so schemas never see it. */
export const FILE_BYTES = Symbol('file bytes')

/** What a native message's file `content` may hold: base64, spaces and line breaks. */
export const BASE64_PATTERN = '^[A-Za-z0-9+/=\\t\\n\\r ]*$'

/** The body's fields whose items' `content` is a file. */
const FILE_FIELDS = new Set(['attachments', 'inline'])

export interface JsonBody {
  /** The body, files' contents replaced by "". */
  text: string
  /** `<field>.<index>` (attachments.0) → the decoded bytes, in chunks. */
  files: Map<string, Buffer[]>
  /** Hex SHA-256 of the body as received, when asked for. */
  sha256: string | null
}

export interface ReadOptions {
  /** Bytes past which the body is refused (413, as Fastify's bodyLimit). */
  limit: number
  /** Take the files out (a single native message's body has them at its top level). */
  files: boolean
  /** Hash the body (its fingerprint, for an Idempotency-Key). */
  hash: boolean
}

/**
 * Reads a JSON body from its stream, with Fastify's own checks (body limit, Content-Length).
 * Rejects with the error to answer: 413, or 400 for what cannot be read.
 */
export async function readJsonBody (payload: Readable, headers: IncomingHttpHeaders, opts: ReadOptions): Promise<JsonBody> {
  const announced = Number(headers['content-length'])
  if (announced > opts.limit) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE()
  const scanner = opts.files ? new FileScanner() : null
  const hash = opts.hash ? createHash('sha256') : null
  const kept: Buffer[] = []
  let received = 0
  await new Promise<void>((resolve, reject) => {
    const stop = (err?: Error): void => {
      payload.off('data', onData)
      payload.off('end', onEnd)
      payload.off('error', onEnd)
      if (err) reject(err)
      else resolve()
    }
    const onData = (chunk: Buffer): void => {
      received += chunk.length
      if (received > opts.limit) return stop(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
      hash?.update(chunk)
      try {
        if (scanner) scanner.scan(chunk, kept)
        else kept.push(chunk)
      } catch (err) {
        stop(err as Error)
      }
    }
    const onEnd = (err?: Error): void => {
      if (err) return stop(Object.assign(err, { statusCode: 400 }))
      if (!Number.isNaN(announced) && received !== announced) return stop(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH())
      stop()
    }
    payload.on('data', onData)
    payload.on('end', onEnd)
    payload.on('error', onEnd)
    payload.resume()
  })
  return { text: (kept.length === 1 ? kept[0] as Buffer : Buffer.concat(kept)).toString('utf8'), files: scanner?.files ?? new Map(), sha256: hash?.digest('hex') ?? null }
}

interface Frame { array: boolean, index: number, key: string | null }

/** A file being decoded: base64 not decoded yet (under four characters but at the end), and whether "=" ended it. */
interface FileState { path: string, field: string, chunks: Buffer[], base64: string, padded: boolean }

const QUOTE = 0x22
const BACKSLASH = 0x5c
const ALPHABET = /^[A-Za-z0-9+/]*$/
const CONTENT = new RegExp(BASE64_PATTERN)
/** Characters JSON allows in a string only escaped. */
const CONTROL = /[\x00-\x1f]/
const HEX4 = /^[0-9A-Fa-f]{4}$/
const SIMPLE_ESCAPES: Record<string, string> = { '/': '/', n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', b: '\b', f: '\f' }

/**
 * The structure of a JSON text seen chunk by chunk; state carries over chunk boundaries. Bytes
 * outside files are kept (as views of the chunks, no copy); a file's string becomes "".
 */
class FileScanner {
  readonly files = new Map<string, Buffer[]>()
  #stack: Frame[] = []
  #expectKey = false
  /** Inside a string: 'key' collects it, 'value' skips it, 'file' decodes it. */
  #string: 'key' | 'value' | 'file' | null = null
  /** The escape begun by a backslash and not complete yet ('' when none). */
  #escape = ''
  #key = ''
  #file: FileState | null = null

  scan (chunk: Buffer, kept: Buffer[]): void {
    let keepFrom = 0
    let i = 0
    while (i < chunk.length) {
      if (this.#string === 'file') {
        const end = this.#fileText(chunk, i)
        if (end === -1) return // the whole rest of the chunk was file content
        i = end + 1
        keepFrom = i - 1 // the closing quote is kept, after the opening one
        continue
      }
      if (this.#string !== null) {
        i = this.#stringText(chunk, i)
        continue
      }
      const c = chunk[i] as number
      if (c === QUOTE) {
        const file = this.#fileAt()
        if (file) {
          kept.push(chunk.subarray(keepFrom, i + 1))
          keepFrom = i + 1
          this.#file = { ...file, chunks: [], base64: '', padded: false }
          this.#string = 'file'
        } else {
          this.#string = this.#expectKey ? 'key' : 'value'
          this.#key = ''
        }
      } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        this.#stack.push({ array: c === 0x5b, index: 0, key: null })
        this.#expectKey = c === 0x7b
      } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
        this.#stack.pop()
        this.#expectKey = false
      } else if (c === 0x2c /* , */) {
        const top = this.#stack[this.#stack.length - 1]
        if (top?.array) top.index++
        else if (top) this.#expectKey = true
      }
      i++
    }
    if (keepFrom < chunk.length) kept.push(chunk.subarray(keepFrom))
  }

  /** The file a string value opening here would be (attachments[i].content at the top level), or null. */
  #fileAt (): { path: string, field: string } | null {
    if (this.#expectKey || this.#stack.length !== 3) return null
    const [root, list, item] = this.#stack as [Frame, Frame, Frame]
    if (root.array || !list.array || item.array || item.key !== 'content' || root.key === null || !FILE_FIELDS.has(root.key)) return null
    return { path: `${root.key}.${list.index}`, field: `${root.key}[${list.index}].content` }
  }

  /** Past a key or a plain string value from `from`: returns where scanning goes on. */
  #stringText (chunk: Buffer, from: number): number {
    let i = from
    if (this.#escape !== '') { this.#escape = ''; this.#keyPart(chunk, i, i + 1); i++ }
    for (;;) {
      const stop = nextSpecial(chunk, i)
      if (stop === chunk.length) { this.#keyPart(chunk, i, stop); return stop }
      if (chunk[stop] === BACKSLASH) {
        this.#keyPart(chunk, i, stop + 2)
        if (stop + 1 >= chunk.length) { this.#escape = '\\'; return chunk.length }
        i = stop + 2
        continue
      }
      const quote = stop
      this.#keyPart(chunk, i, quote)
      if (this.#string === 'key') {
        const top = this.#stack[this.#stack.length - 1]
        // A key with escapes is never one of ours: those are plain ASCII.
        if (top) top.key = this.#key.includes('\\') ? null : this.#key
        this.#expectKey = false
      }
      this.#string = null
      return quote + 1
    }
  }

  #keyPart (chunk: Buffer, from: number, to: number): void {
    if (this.#string === 'key' && this.#key.length < 64) this.#key += chunk.toString('latin1', from, Math.min(to, chunk.length))
  }

  /** Decodes file content from `from`; returns the index of its closing quote, or -1 when the chunk ends first. */
  #fileText (chunk: Buffer, from: number): number {
    const file = this.#file as FileState
    let i = from
    while (i < chunk.length) {
      if (this.#escape !== '') {
        i = this.#escapeText(chunk, i)
        continue
      }
      const stop = nextSpecial(chunk, i)
      this.#base64(chunk.toString('latin1', i, stop))
      if (stop === chunk.length) return -1
      if (chunk[stop] === BACKSLASH) {
        this.#escape = '\\'
        i = stop + 1
        continue
      }
      this.#decode(true)
      this.files.set(file.path, file.chunks)
      this.#file = null
      this.#string = null
      return stop
    }
    return -1
  }

  /** Continues an escape inside file content: `\/`, the line breaks, or `\uXXXX`. */
  #escapeText (chunk: Buffer, from: number): number {
    let i = from
    while (i < chunk.length) {
      this.#escape += String.fromCharCode(chunk[i] as number)
      i++
      const e = this.#escape
      if (e.length === 2 && e[1] !== 'u') {
        this.#escape = ''
        const char = SIMPLE_ESCAPES[e[1] as string]
        if (char === undefined) throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY()
        this.#base64(char, true)
        return i
      }
      if (e.length === 6) {
        this.#escape = ''
        if (!HEX4.test(e.slice(2))) throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY()
        this.#base64(String.fromCharCode(parseInt(e.slice(2), 16)), true)
        return i
      }
    }
    return i
  }

  /**
   * Takes text of file content (`escaped`: from an escape; else as it came, where JSON allows no
   * line breaks), as Buffer.from(content, 'base64') would read it: whitespace skipped, and the
   * first "=" ends the data (what follows is checked, not decoded).
   */
  #base64 (text: string, escaped = false): void {
    const file = this.#file as FileState
    if (!ALPHABET.test(text)) {
      if (!escaped && CONTROL.test(text)) throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY()
      if (!CONTENT.test(text)) throw new HttpError('MQ_ERR_VALIDATION', `${file.field} must match pattern "${BASE64_PATTERN}"`)
      const pad = text.indexOf('=')
      text = (pad === -1 ? text : text.slice(0, pad)).replace(/[ \n\r\t]/g, '')
      if (pad !== -1 && !file.padded) {
        file.base64 += text
        file.padded = true
      }
    }
    if (!file.padded) file.base64 += text
    this.#decode(false)
  }

  /** Decodes what can be decoded: whole groups of four, or (at the end) the rest. */
  #decode (last: boolean): void {
    const file = this.#file as FileState
    const length = last ? file.base64.length : file.base64.length - (file.base64.length % 4)
    if (length === 0) return
    const bytes = Buffer.from(file.base64.slice(0, length), 'base64')
    if (bytes.length > 0) file.chunks.push(bytes)
    file.base64 = file.base64.slice(length)
  }
}

/** The index of the next quote or backslash in `chunk` from `from`, or its length. */
function nextSpecial (chunk: Buffer, from: number): number {
  const quote = chunk.indexOf(QUOTE, from)
  const backslash = chunk.indexOf(BACKSLASH, from)
  if (quote === -1) return backslash === -1 ? chunk.length : backslash
  return backslash === -1 || quote < backslash ? quote : backslash
}

/** Hangs each decoded file on its object of the parsed body, where its content was left "". */
export function attachFiles (body: unknown, files: ReadonlyMap<string, Buffer[]>): void {
  for (const [path, chunks] of files) {
    const [field, index] = path.split('.') as [string, string]
    const list = (body as Record<string, unknown> | null)?.[field]
    const item = Array.isArray(list) ? list[Number(index)] as Record<string | symbol, unknown> | undefined : undefined
    if (item && typeof item === 'object' && item.content === '') item[FILE_BYTES] = chunks
  }
}
