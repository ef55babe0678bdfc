import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import addrs from 'email-addresses'
import { domainProblem, parseByGrammar, parseMailbox, parseMailboxList } from '../../services/api/validation/addresses.js'

// [input, addr-spec(s) it stands for, where the rule comes from]
const valid: Array<[string, string[], string]> = [
  ['user@example.com', ['user@example.com'], 'RFC 5322 §3.4.1 addr-spec, dot-atom local part'],
  ['first.last+tag@mg.example.com', ['first.last+tag@mg.example.com'], '§3.2.3 atext includes + and .-separated atoms'],
  ["o'hara!#$%&*/=?^_`{|}~-@example.com", ["o'hara!#$%&*/=?^_`{|}~-@example.com"], '§3.2.3 every atext character'],
  ['Shop <shop@example.com>', ['shop@example.com'], '§3.4 name-addr'],
  ['<shop@example.com>', ['shop@example.com'], '§3.4 name-addr without display name'],
  ['"Doe, John" <j@example.com>', ['j@example.com'], '§3.2.4 quoted-string display name with a comma'],
  ['John Q. Public <jqp@example.com>', ['jqp@example.com'], '§4.1 obs-phrase: a dot in a display name'],
  ['"a b"@example.com', ['"a b"@example.com'], '§3.2.4 quoted local part'],
  ['"a\\"b"@example.com', ['"a\\"b"@example.com'], '§3.2.1 quoted-pair'],
  ['Shop (EU) <shop@example.com>', ['shop@example.com'], '§3.2.2 comment'],
  ['shop@example.com (Shop (EU))', ['shop@example.com'], '§3.2.2 nested comment'],
  ['\tShop\t<shop@example.com> ', ['shop@example.com'], '§3.2.2 FWS around tokens'],
  ['=?UTF-8?B?SsO2cmc=?= <j@example.com>', ['j@example.com'], 'RFC 2047 encoded word is an atom'],
  ['Jörg <jörg@bücher.de>', ['jörg@bücher.de'], 'RFC 6532 §3.2 UTF-8 in atoms; RFC 6531 UTF-8 local part'],
  ['用户@例子.广告', ['用户@例子.广告'], 'RFC 6531 local part, IDNA domain (RFC 5890)'],
  ['u@xn--bcher-kva.de', ['u@xn--bcher-kva.de'], 'RFC 5890 A-label'],
  ['a@x.com, "B, b" <b@y.com>,c@z.org', ['a@x.com', 'b@y.com', 'c@z.org'], '§3.4 mailbox-list'],
  ['a@x.com,, b@y.com,', ['a@x.com', 'b@y.com'], '§4.4 obs-mbox-list: empty elements'],
  [`${'l'.repeat(64)}@example.com`, [`${'l'.repeat(64)}@example.com`], 'RFC 5321 §4.5.3.1.1: 64 octets of local part'],
  [`u@${'a'.repeat(63)}.com`, [`u@${'a'.repeat(63)}.com`], 'RFC 1035 §2.3.4: 63 octets a label']
]

const invalid: Array<[string, RegExp, string]> = [
  ['plainaddress', /no @/, '§3.4.1 addr-spec needs "@"'],
  ['two@@at.example', /more than one @/, '§3.4.1 one "@"'],
  ['not an address', /no @/, '§3.4.1'],
  ['', /no address/, '§3.4 at least one mailbox'],
  [' , ', /no address/, '§3.4 at least one mailbox'],
  ['.user@example.com', /local part/, '§3.2.3 dot-atom cannot start with a dot'],
  ['us..er@example.com', /misplaced dot/, '§3.2.3 no empty atom'],
  ['user.@example.com', /misplaced dot/, '§3.2.3 no trailing dot'],
  ['user@example..com', /misplaced dot/, '§3.4.1 domain dot-atom'],
  ['user@example.com.', /misplaced dot/, 'no trailing root dot in a mail domain'],
  ['a b@example.com', /put the address in <…>/, '§3.4 a display name needs angle brackets'],
  ['user @example.com', /space next to the @/, 'CFWS around "@": RFC-valid, refused by Mailgun\'s parser'],
  ['user@ example.com', /space next to the @/, 'idem'],
  ['user@[192.0.2.1]', /address literal/, 'stricter than RFC 5321 §4.1.3: no address literals'],
  ['user@localhost', /without a dot/, 'stricter: dotless domains cannot receive Internet mail'],
  ['user@192.0.2.1', /all-numeric/, 'RFC 3696 §2: a top-level domain is not all-numeric'],
  ['user@-bad.example', /inner hyphens/, 'RFC 1035 §2.3.1 LDH labels'],
  ['user@bad_.example', /inner hyphens/, 'RFC 1035 §2.3.1 LDH labels'],
  ['user@ex%41.com', /inner hyphens/, 'no percent-decoding of host names'],
  ['user@xn--zz.de', /Punycode/, 'RFC 3492: an A-label must decode'],
  ['user@bücher。de', /without a dot/, 'an ideographic full stop is not a label separator here'],
  ['user@bücher。co.de', /not a valid internationalized/, 'idem, inside a label'],
  [`${'l'.repeat(65)}@example.com`, /local part longer than 64/, 'RFC 5321 §4.5.3.1.1'],
  [`u@${'a'.repeat(64)}.com`, /longer than 63/, 'RFC 1035 §2.3.4'],
  [`u@${Array(60).fill('abcd').join('.')}.com`, /longer than 253/, 'RFC 1035 §2.3.4'],
  ['Team: a@x.com, b@y.com;', /group/, 'stricter: §3.4 groups are not accepted'],
  ['a@x.com; b@y.com', /separate addresses with commas/, '§3.4 lists are comma-separated'],
  ['Shop <shop@example.com', /without its ">"/, '§3.4 angle-addr'],
  ['"unterminated@example.com', /closing quote/, '§3.2.4'],
  ['(open a@example.com', /without its "\)"/, '§3.2.2'],
  ['a@x.com b@y.com', /after address|put the address|after the address/, '§3.4 one mailbox per element'],
  ['"a"."b"@example.com', /misplaced dot/, 'stricter: §4.4 obs-local-part'],
  ['<@route:a@example.com>', /local part/, 'stricter: §4.4 obs-route'],
  ['sh\u0001op@example.com', /character not allowed/, '§3.2.3 no control characters']
]

test('valid mailboxes and lists parse to their addr-specs', () => {
  for (const [input, expected, why] of valid) {
    const list = parseMailboxList(input)
    assert.deepEqual(list, { ok: true, value: expected }, `${JSON.stringify(input)} (${why})`)
    if (expected.length === 1) assert.deepEqual(parseMailbox(input), { ok: true, value: expected[0] }, JSON.stringify(input))
  }
})

test('invalid mailboxes are refused with a reason', () => {
  for (const [input, reason, why] of invalid) {
    const list = parseMailboxList(input)
    assert.equal(list.ok, false, `${JSON.stringify(input)} should be refused (${why})`)
    if (!list.ok) assert.match(list.problem, reason, `${JSON.stringify(input)}: "${list.problem}" (${why})`)
  }
})

test('a sender is exactly one mailbox', () => {
  assert.deepEqual(parseMailbox('a@x.com, b@y.com'), { ok: false, problem: 'must be one address, not a list' })
  assert.deepEqual(parseMailbox('a@x.com,'), { ok: false, problem: 'must be one address, not a list' })
  assert.equal(parseMailbox('Shop <a@x.com> trailing').ok, false)
})

test('domainProblem: IDNA per label, LDH after it', () => {
  assert.equal(domainProblem('bücher.de'), null)
  assert.equal(domainProblem('MG.Example.COM'), null)
  assert.match(domainProblem('a.b-.c') ?? '', /inner hyphens/)
  assert.match(domainProblem('a..b') ?? '', /empty domain label/)
})

// Strings made of the pieces addresses are made of, so that the fast path, the grammar and the
// reference parser all meet many real and many nearly-real addresses.
const piece = fc.constantFrom('a', 'Z', '0', '.', '@', ' ', '<', '>', '"', ',', '(', ')', '\\', ':', ';', '[', ']', '-', '_', '+',
  'ü', '例', 'xn--', 'example', 'com', '\t', '=?', '?=', "'")
const addressish = fc.oneof(
  fc.array(piece, { maxLength: 14 }).map((p) => p.join('')),
  fc.tuple(fc.stringMatching(/^[a-z0-9.+_-]{1,12}$/), fc.stringMatching(/^[a-z0-9-]{1,10}(\.[a-z0-9-]{1,10}){1,3}$/),
    fc.option(fc.stringMatching(/^[A-Za-z. "]{0,12}$/))).map(([l, d, n]) => (n === null ? `${l}@${d}` : `${n} <${l}@${d}>`))
)

test('property: the fast path never accepts what the grammar refuses, nor reads it differently', () => {
  fc.assert(fc.property(addressish, (s) => {
    const fast = parseMailbox(s)
    const grammar = parseByGrammar(s, 'one')
    if (fast.ok) assert.deepEqual(grammar, { ok: true, value: [fast.value] }, JSON.stringify(s))
    else assert.equal(grammar.ok, false)
  }), { numRuns: 3000 })
})

test('property: whatever is accepted is an RFC 5322 mailbox list to an independent parser (email-addresses)', () => {
  fc.assert(fc.property(addressish, (s) => {
    const ours = parseMailboxList(s)
    if (!ours.ok) return
    const theirs = addrs.parseAddressList({ input: s, rfc6532: true })
    assert.ok(theirs, `${JSON.stringify(s)}: accepted here, refused by email-addresses`)
    assert.deepEqual(theirs.map((a) => a.type === 'mailbox' ? a.domain : null), ours.value.map((a) => a.slice(a.lastIndexOf('@') + 1)), JSON.stringify(s))
  }), { numRuns: 3000 })
})
