import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { FileData } from '../../shared/queues.js'
import { checkSendFields } from '../../services/api/validation/fields.js'
import { MAX_JSON_DEPTH, tooDeep } from '../../services/api/validation/json-depth.js'
import { isSendOption, MAX_MESSAGE_BYTES, MAX_SEND_OPTIONS_BYTES, tagProblem } from '../../services/api/validation/limits.js'

const MESSAGE_ID = '<00000000-0000-0000-0000-000000000000@mg.example.com>'
const labels = { field: (i: number) => `f${i}`, file: (i: number) => `file${i}` }
const base: Array<[string, string]> = [['from', 'Shop <shop@mg.example.com>'], ['to', 'user@example.com'], ['text', 'hi']]
const check = (extra: Array<[string, string]>, files: FileData[] = []) => checkSendFields([...base, ...extra], files, MESSAGE_ID, labels)

test('a plain send passes', () => {
  assert.equal(check([['subject', 'Hello'], ['h:X-Campaign', 'spring'], ['v:order', '{"id":1}'], ['o:tag', 'welcome']]), null)
})

test('each field kind: the rule it follows, and the field it names', () => {
  const rows: Array<[Array<[string, string]>, RegExp]> = [
    [[['from', 'a@x.com']], /^f3 must be given once/],
    [[['cc', 'nobody']], /^f3 is not a valid address: it has no @/],
    [[['bcc', 'a@x.com, b@@y.com']], /^f3 is not a valid address list: it has more than one @ \(address 2 of the list\)/],
    [[['h:X A', 'x']], /^f3 is not a valid header name/],
    [[['h:Reply-To', 'nobody']], /^f3 is not a valid address list/],
    [[['h:X-A', 'a\r\nBcc: v@example.net']], /^f3 must not contain a line break/],
    [[['subject', 'a\u0000']], /^f3 must not contain NUL/],
    [[['html', '<p>\u0000</p>']], /^f3 must not contain NUL/],
    [[['v:a\nb', 'x']], /^f3 is not a valid field name/],
    [[['o:tag', 'ünïcode']], /^f3 must be printable ASCII/],
    [[['o:tag', 'x'.repeat(129)]], /^f3 must be 1 to 128 characters/],
    [[['o:tag', 'a'], ['o:tag', 'b'], ['o:tag', 'c'], ['o:tag', 'd']], /^f6 is one tag too many/],
    [[['t:variables', '[1]']], /^f3 must be a JSON object/],
    [[['recipient-variables', '{']], /^f3 is not valid JSON/],
    [[['t:variables', '{"a":' + '['.repeat(40) + ']'.repeat(40) + '}']], /^f3 nests deeper than 32 levels \(at a\[0\]/]
  ]
  for (const [extra, expected] of rows) {
    const refusal = check(extra)
    assert.equal(refusal?.status, 400, JSON.stringify(extra).slice(0, 80))
    assert.match(refusal?.message ?? '', expected)
  }
  // Multi-line text is fine where it is a body or a variable's value.
  assert.equal(check([['html', '<p>\r\n</p>'], ['v:note', 'two\nlines']]), null)
})

test('send options: 16,000 bytes of o:, h:, v: and t: names and values, our Message-Id included', () => {
  const used = 'h:Message-Id'.length + MESSAGE_ID.length + 'v:big'.length
  assert.equal(check([['v:big', 'x'.repeat(MAX_SEND_OPTIONS_BYTES - used)]]), null)
  assert.match(check([['v:big', 'x'.repeat(MAX_SEND_OPTIONS_BYTES - used + 1)]])?.message ?? '', /^f3 brings the send options .* 16 kB/)
  // Not an option: subject and text do not count.
  assert.equal(check([['subject', 'x'.repeat(900)], ['text', 'x'.repeat(20_000)]]), null)
})

test('recipients: at most 1,000 over to, cc and bcc together, lists counted by address', () => {
  const list = (n: number, d: string) => Array.from({ length: n }, (_, i) => `u${i}@${d}`).join(', ')
  assert.equal(checkSendFields([['from', 'a@x.com'], ['to', list(500, 'a.com')], ['cc', list(499, 'b.com')], ['text', 'x']], [], MESSAGE_ID, labels), null)
  const over = checkSendFields([['from', 'a@x.com'], ['to', list(500, 'a.com')], ['cc', list(499, 'b.com')], ['bcc', 'z@z.com, y@y.com'], ['text', 'x']], [], MESSAGE_ID, labels)
  assert.match(over?.message ?? '', /^f3 brings the recipients .* 1000/)
})

test('message size: decoded text, html, amp-html and files over 25 MB is a 413', () => {
  const file = (bytes: number): FileData => ({ field: 'attachment', filename: 'a.bin', contentType: 'application/octet-stream', content: [Buffer.alloc(bytes)] })
  assert.equal(check([], [file(MAX_MESSAGE_BYTES - 2)]), null) // "hi" is the other 2 bytes
  assert.deepEqual(check([], [file(MAX_MESSAGE_BYTES - 1)]), { status: 413, message: "file0 brings the message (text, html, amp-html and files) over Mailgun's limit of 25 MB" })
  assert.equal(check([['html', 'x'.repeat(MAX_MESSAGE_BYTES)]])?.status, 413)
  const badName = check([], [{ ...file(1), filename: 'a\r\n.txt' }])
  assert.equal(badName?.message, 'file0.filename must not contain a line break (CR or LF)')
})

test('limits helpers', () => {
  assert.ok(isSendOption('o:tag') && isSendOption('H:X-A') && isSendOption('v:x') && isSendOption('t:variables'))
  assert.ok(!isSendOption('to') && !isSendOption('subject') && !isSendOption('x:y'))
  assert.equal(tagProblem('newsletter 2026'), null)
  assert.match(tagProblem('') ?? '', /1 to 128/)
})

test('tooDeep: the path to the first place past the limit, in one pass, before parsing', () => {
  assert.equal(tooDeep('{"a":[{"b":1}],"c":"[[[[[[["}'), null) // brackets inside strings do not count
  assert.equal(tooDeep('{"a":"x\\"[[[[","b\\\\":[[1]]}', 2), 'b\\[0]') // an escaped quote, an escaped backslash
  assert.equal(tooDeep('[[[1]]]', 3), null)
  assert.equal(tooDeep('[[[[1]]]]', 3), '[0][0][0]')
  assert.equal(tooDeep('{"x":1,"messages":[{},{"variables":{"d \\"q":[[[]]]}}]}', 5), 'messages[1].variables["d \\"q"][0]')
  assert.equal(tooDeep('{"a":' + '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH) + '}'), 'a[0][0][0][0][0]…')
  assert.equal(tooDeep('{'.repeat(100)), '…') // not JSON, too deep all the same
  assert.equal(tooDeep('not json at all'), null)
})
