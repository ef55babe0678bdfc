import type { IncomingMessage } from 'node:http'
import { Busboy } from '@fastify/busboy'

export interface ParsedForm {
  fields: Record<string, string[]>
  files: Array<{ field: string, filename: string, contentType: string, size: number }>
  contentType: string
}

const MAX_BODY_BYTES = 52.4 * 1024 * 1024

export class TooLarge extends Error {}
export class BadForm extends Error {}

function push (fields: Record<string, string[]>, name: string, value: string): void {
  const list = fields[name]
  if (list) list.push(value)
  else fields[name] = [value]
}

/** Reads a urlencoded or multipart body the way Mailgun takes it: repeated fields kept in order. */
export async function parseForm (req: IncomingMessage): Promise<ParsedForm> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'multipart/form-data') return await parseMultipart(req)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new TooLarge()
    chunks.push(chunk as Buffer)
  }
  const fields: Record<string, string[]> = {}
  for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) push(fields, k, v)
  return { fields, files: [], contentType: 'application/x-www-form-urlencoded' }
}

async function parseMultipart (req: IncomingMessage): Promise<ParsedForm> {
  const fields: Record<string, string[]> = {}
  const files: ParsedForm['files'] = []
  return await new Promise((resolve, reject) => {
    let bb: ReturnType<typeof Busboy>
    try {
      bb = new Busboy({ headers: req.headers as never, limits: { fileSize: MAX_BODY_BYTES, fieldSize: MAX_BODY_BYTES } })
    } catch (err) {
      reject(new BadForm((err as Error).message))
      return
    }
    bb.on('field', (name: string, value: string) => push(fields, name, value))
    bb.on('file', (field: string, stream: NodeJS.ReadableStream, filename: string, _enc: string, mime: string) => {
      let size = 0
      stream.on('data', (c: Buffer) => { size += c.length })
      stream.on('end', () => files.push({ field, filename, contentType: mime, size }))
    })
    bb.on('error', (err: Error) => reject(new BadForm(err.message)))
    bb.on('finish', () => resolve({ fields, files, contentType: 'multipart/form-data' }))
    req.pipe(bb)
  })
}
