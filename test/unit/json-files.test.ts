import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { attachFiles, FILE_BYTES, readJsonBody } from '../../services/api/json-files.js'

const LIMIT = 1_000_000

/** The body read in chunks of `size` bytes, files taken out and hung back on the parsed body. */
async function read (body: string, size: number): Promise<{ parsed: Record<string, unknown>, sha256: string | null }> {
  const bytes = Buffer.from(body)
  const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))
  const read = await readJsonBody(Readable.from(chunks), { 'content-length': String(bytes.length) }, { limit: LIMIT, files: true, hash: true })
  const parsed = JSON.parse(read.text) as Record<string, unknown>
  attachFiles(parsed, read.files)
  return { parsed, sha256: read.sha256 }
}

/** What the parsed body's files decode to: the same bytes Buffer.from(content, 'base64') gives. */
function bytesOf (parsed: Record<string, unknown>, field: string): Buffer[] {
  return (parsed[field] as Array<Record<string | symbol, unknown>>).map((f) => Buffer.concat(f[FILE_BYTES] as Buffer[] ?? []))
}

test('attachment and inline contents come out as the bytes Buffer.from(content, "base64") gives, at any chunk boundary', async () => {
  const file = randomBytes(300)
  const base64 = file.toString('base64')
  // Line breaks (as \n escapes), and slashes escaped as PHP's json_encode writes them.
  const contentJson = JSON.stringify(base64.replace(/(.{40})/g, '$1\n')).replaceAll('/', '\\/')
  const body = JSON.stringify({
    domain: 'mg.example.com',
    templateVariables: { attachments: [{ content: 'aGk=' }] }, // not a file: left as it is
    attachments: [{ filename: 'a.bin', content: '@' }, { filename: 'b.bin', content: 'QUJD' }],
    inline: [{ filename: 'c.png', content: 'QUI=ignored' }],
    text: 'a "quoted" \\ text with content: "x"'
  }).replace('"@"', contentJson)
  const expected = JSON.parse(body) as Record<string, Array<{ content: string }>>
  for (const size of [1, 2, 3, 5, 7, 64, 1000]) {
    const { parsed, sha256 } = await read(body, size)
    assert.deepEqual(bytesOf(parsed, 'attachments'), expected.attachments?.map((a) => Buffer.from(a.content, 'base64')), `chunks of ${size}`)
    assert.deepEqual(bytesOf(parsed, 'inline'), [Buffer.from('QUI=', 'base64')])
    assert.deepEqual(bytesOf(parsed, 'attachments')[0], file)
    assert.deepEqual(parsed.templateVariables, expected.templateVariables)
    assert.equal(parsed.text, expected.text)
    assert.deepEqual((parsed.attachments as Array<{ content: string }>).map((a) => a.content), ['', ''])
    assert.equal(sha256, createHash('sha256').update(body).digest('hex'))
  }
})

test('a file content that is not base64 is a 400 naming it; broken JSON is Fastify\'s own 400', async () => {
  await assert.rejects(read('{"attachments":[{"filename":"a","content":"QU*J"}]}', 4), (err: Error & { statusCode?: number }) => {
    assert.equal(err.statusCode, 400)
    assert.match(err.message, /^attachments\[0\]\.content must match pattern/)
    return true
  })
  await assert.rejects(read('{"attachments":[{"filename":"a","content":"QU\nJD"}]}', 4), { code: 'FST_ERR_CTP_INVALID_JSON_BODY' })
  await assert.rejects(read('{"attachments":[{"filename":"a","content":"QU\\xJD"}]}', 4), { code: 'FST_ERR_CTP_INVALID_JSON_BODY' })
})

test('Fastify\'s limits: a body past the limit is a 413, a short one a 400', async () => {
  await assert.rejects(readJsonBody(Readable.from([Buffer.alloc(10)]), {}, { limit: 5, files: false, hash: false }), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' })
  await assert.rejects(readJsonBody(Readable.from([Buffer.from('{}')]), { 'content-length': '10' }, { limit: 100, files: false, hash: false }), { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' })
})
