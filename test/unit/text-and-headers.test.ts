import { test } from 'node:test'
import assert from 'node:assert/strict'
import { headerNameProblem, isAddressHeader } from '../../services/api/validation/headers.js'
import { keyLabel, nameLabel, within } from '../../services/api/validation/labels.js'
import { lineProblem, textProblem } from '../../services/api/validation/text.js'

test('single-line values: no CR, LF, NUL or lone surrogate (RFC 5322 §2.2: a header line ends at CRLF)', () => {
  const rows: Array<[string, RegExp | null]> = [
    ['Hello, world', null],
    ['Grüße 👋 tab\there', null], // a surrogate pair is one code point
    ['a\r\nBcc: victim@example.net', /line break/],
    ['a\nb', /line break/],
    ['a\rb', /line break/],
    ['a\u0000b', /NUL/],
    ['a\uD83Db', /lone surrogate/],
    ['\uDE00', /lone surrogate/]
  ]
  for (const [value, expected] of rows) {
    const problem = lineProblem(value)
    if (expected === null) assert.equal(problem, null, JSON.stringify(value))
    else assert.match(problem ?? '', expected, JSON.stringify(value))
  }
})

test('message bodies may break lines, never hold NUL or a lone surrogate (RFC 5322 §2.3, RFC 6532 §3.1)', () => {
  assert.equal(textProblem('line one\r\nline two\n'), null)
  assert.match(textProblem('a\u0000b') ?? '', /NUL/)
  assert.match(textProblem('a\uDBFF') ?? '', /lone surrogate/)
})

test('header names: printable ASCII without ":" (RFC 5322 §2.2 ftext; Mailgun: "pure ASCII")', () => {
  for (const name of ['X-Campaign', 'Reply-To', 'List-Unsubscribe-Post', 'X-!#$%&\'*+-.^_`|~']) assert.equal(headerNameProblem(name), null, name)
  for (const name of ['', 'X A', 'X-A:', 'X-A\r\nBcc: v@example.net', 'X-Grüße', 'X-\u007f', 'X-\u0000']) {
    assert.match(headerNameProblem(name) ?? '', /not a valid header name/, JSON.stringify(name))
  }
})

test('Reply-To is an address header (RFC 5322 §3.6.2), in any letter case', () => {
  assert.ok(isAddressHeader('Reply-To'))
  assert.ok(isAddressHeader('reply-to'))
  assert.ok(!isAddressHeader('X-Reply-To'))
})

test('labels name fields as the caller wrote them, quoting what is not plain', () => {
  assert.equal(keyLabel('headers', 'X-A'), 'headers.X-A')
  assert.equal(keyLabel('headers', 'X-A\r\nBcc: v'), 'headers["X-A\\r\\nBcc: v"]')
  assert.equal(keyLabel('', 'variables'), 'variables')
  assert.equal(nameLabel('h:Reply-To'), 'h:Reply-To')
  assert.equal(nameLabel('h:X A'), 'h:"X A"')
  assert.equal(nameLabel('h:' + 'x'.repeat(500)).length < 120, true)
  assert.equal(within('messages[4]', 'to[0]'), 'messages[4].to[0]')
  assert.equal(within('messages[4]', '["odd key"]'), 'messages[4]["odd key"]')
  assert.equal(within('', 'to[0]'), 'to[0]')
})
