/**
 * Email addresses as Mailgun's `from`, `to`, `cc`, `bcc` and `h:Reply-To` take them: RFC 5322
 * mailboxes (§3.4: `addr-spec` or `[display-name] <addr-spec>`), with UTF-8 allowed where RFC 6532
 * allows it (§3.2: atoms, quoted strings, comments), so internationalized local parts (RFC 6531)
 * and domains (IDNA, RFC 5890) pass. Lists are comma-separated (§3.4 `mailbox-list`; empty
 * elements as in §4.4 `obs-mbox-list` are skipped). Refused although RFC 5322 has them, because
 * they cannot be a recipient mailqueue hands to Mailgun: groups (§3.4 `group`), address literals
 * (`user@[192.0.2.1]`), dotless domains, and the other obsolete forms of §4.4 (routes, CFWS
 * inside a local part). Values never hold CR, LF or NUL here: text.ts refuses those first.
 *
 * Parsers never throw on input: they give `{ ok: true, … }` or `{ ok: false, problem }`, the
 * problem being a phrase the caller puts after the field's name.
 */
import { domainToASCII } from 'node:url'

export type Parsed<T> = { ok: true, value: T } | { ok: false, problem: string }

/** RFC 5321 §4.5.3.1.1: at most 64 octets in a local part. */
const MAX_LOCAL_OCTETS = 64
/** RFC 5321 §4.5.3.1.3 path of 256 octets, less the angle brackets (RFC 3696 erratum 1690). */
const MAX_ADDRESS_OCTETS = 254
/** RFC 1035 §2.3.4: 63 octets a label, 255 a name on the wire, so 253 as text. */
const MAX_LABEL_OCTETS = 63
const MAX_DOMAIN_OCTETS = 253

type Token =
  | { kind: 'atom', text: string, gap: boolean }
  | { kind: 'quoted', text: string, gap: boolean }
  | { kind: 'special', text: string, gap: boolean }

const SPECIALS = '<>@,:;.[]'

/** RFC 5322 §3.2.3 atext, plus every non-ASCII character (RFC 6532 §3.2). */
function isAtext (c: number): boolean {
  if (c >= 0x80) return true
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true
  return c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2f ||
    c === 0x3d || c === 0x3f || (c >= 0x5e && c <= 0x60) || (c >= 0x7b && c <= 0x7e)
}

/** VCHAR or non-ASCII: what may follow a backslash (§3.2.1 quoted-pair) or stand in qtext/ctext. */
const isVisible = (c: number): boolean => (c >= 0x21 && c <= 0x7e) || c >= 0x80
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09

/**
 * Splits a header value into tokens, skipping CFWS (§3.2.2: spaces, tabs, nested comments);
 * `gap` tells whether CFWS came before a token. A string or comment left open is a problem.
 */
function tokenize (s: string): Parsed<Token[]> {
  const tokens: Token[] = []
  let i = 0
  let gap = false
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (isSpace(c)) { i++; gap = true; continue }
    if (c === 0x28 /* ( */) {
      let depth = 0
      for (; i < s.length; i++) {
        const d = s.charCodeAt(i)
        if (d === 0x5c /* \ */) { i++; continue }
        if (d === 0x28) depth++
        else if (d === 0x29 && --depth === 0) break
        else if (!isVisible(d) && !isSpace(d)) return { ok: false, problem: 'has a control character in a comment' }
      }
      if (depth !== 0) return { ok: false, problem: 'has a comment "(" without its ")"' }
      i++
      gap = true
      continue
    }
    if (c === 0x22 /* " */) {
      let text = '"'
      let j = i + 1
      for (; j < s.length; j++) {
        const d = s.charCodeAt(j)
        if (d === 0x22) break
        if (d === 0x5c) {
          const next = s.charCodeAt(j + 1)
          if (!(isVisible(next) || isSpace(next))) return { ok: false, problem: 'has a "\\" with nothing to quote' }
          text += s.slice(j, j + 2)
          j++
          continue
        }
        if (!isVisible(d) && !isSpace(d)) return { ok: false, problem: 'has a control character in a quoted string' }
        text += s[j]
      }
      if (j >= s.length) return { ok: false, problem: 'has a quoted string without its closing quote' }
      tokens.push({ kind: 'quoted', text: text + '"', gap })
      i = j + 1
      gap = false
      continue
    }
    if (SPECIALS.includes(s[i] as string)) {
      tokens.push({ kind: 'special', text: s[i] as string, gap })
      i++
      gap = false
      continue
    }
    if (!isAtext(c)) {
      return { ok: false, problem: c === 0x29 ? 'has a ")" without its "("' : `has a character not allowed here (${JSON.stringify(s[i])})` }
    }
    let j = i + 1
    while (j < s.length && isAtext(s.charCodeAt(j))) j++
    tokens.push({ kind: 'atom', text: s.slice(i, j), gap })
    i = j
    gap = false
  }
  return { ok: true, value: tokens }
}

/** A dot-atom-text (§3.2.3) from tokens[at…]: atoms joined by single dots, no CFWS inside. */
function dotAtom (tokens: Token[], at: number): { text: string, end: number } | null {
  const first = tokens[at]
  if (first?.kind !== 'atom') return null
  let text = first.text
  let i = at + 1
  for (;;) {
    const dot = tokens[i]
    const atom = tokens[i + 1]
    if (dot?.kind !== 'special' || dot.text !== '.' || dot.gap || atom?.kind !== 'atom' || atom.gap) break
    text += '.' + atom.text
    i += 2
  }
  return { text, end: i }
}

/** Why a domain cannot receive mail through Mailgun, or null: LDH labels after IDNA (RFC 5890). */
export function domainProblem (domain: string): string | null {
  const labels = domain.split('.')
  if (labels.length < 2) return 'has a domain without a dot'
  let octets = labels.length - 1
  for (const label of labels) {
    let ascii = label
    if (/[^\x00-\x7f]/.test(label)) {
      // IDNA per label: domainToASCII maps whole host names (and would turn "。" into a dot).
      if (/[^A-Za-z0-9\u0080-\uffff-]/.test(label)) return 'has a character not allowed in a domain name'
      ascii = domainToASCII(label)
      if (ascii === '' || ascii.includes('.')) return 'has a domain label that is not a valid internationalized name'
    } else if (/^xn--/i.test(label) && domainToASCII(label) === '') {
      return 'has a domain label that is not valid Punycode'
    }
    if (ascii.length === 0) return 'has an empty domain label'
    if (ascii.length > MAX_LABEL_OCTETS) return `has a domain label longer than ${MAX_LABEL_OCTETS} characters`
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(ascii)) {
      return 'has a domain label that is not letters, digits and inner hyphens'
    }
    octets += ascii.length
  }
  if (octets > MAX_DOMAIN_OCTETS) return `has a domain longer than ${MAX_DOMAIN_OCTETS} characters`
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return 'has an all-numeric top-level domain'
  return null
}

const isSpecial = (t: Token | undefined, text: string): boolean => t?.kind === 'special' && t.text === text
const fail = (problem: string): { ok: false, problem: string } => ({ ok: false, problem })

/**
 * addr-spec (§3.4.1) from tokens[at…]; `end` is the index after it. No CFWS around the "@": RFC
 * 5322 allows it, Mailgun's parser does not (and no mail client writes it).
 */
function addrSpec (tokens: Token[], at: number): Parsed<{ address: string, end: number }> {
  let local: string
  let i: number
  const first = tokens[at]
  if (first?.kind === 'quoted') {
    local = first.text
    i = at + 1
  } else {
    const atom = dotAtom(tokens, at)
    if (!atom) return fail(first === undefined || first.text === '@' ? 'has an empty local part' : `has ${JSON.stringify(first.text)} where the local part should be`)
    local = atom.text
    i = atom.end
  }
  const sign = tokens[i]
  if (isSpecial(sign, '.')) return fail('has a local part with a misplaced dot')
  if (!isSpecial(sign, '@')) return fail('has words before the address: put the address in <…>')
  if ((sign as Token).gap || tokens[i + 1]?.gap) return fail('has a space next to the @')
  const next = tokens[i + 1]
  if (isSpecial(next, '@')) return fail('has more than one @')
  if (isSpecial(next, '[')) return fail('has an address literal ([…]) as domain')
  const domain = dotAtom(tokens, i + 1)
  if (!domain) return fail('has no domain after the @')
  const after = tokens[domain.end]
  if (isSpecial(after, '.') && !(after as Token).gap) return fail('has a domain with a misplaced dot')
  if (isSpecial(after, '@')) return fail('has more than one @')
  if (Buffer.byteLength(local) > MAX_LOCAL_OCTETS) return fail(`has a local part longer than ${MAX_LOCAL_OCTETS} bytes`)
  const problem = domainProblem(domain.text)
  if (problem) return fail(problem)
  const address = `${local}@${domain.text}`
  if (Buffer.byteLength(address) > MAX_ADDRESS_OCTETS) return fail(`is longer than ${MAX_ADDRESS_OCTETS} bytes`)
  return { ok: true, value: { address, end: domain.end } }
}

/** One mailbox (§3.4) from tokens[at…]: an addr-spec, or a display name (maybe none) and <addr-spec>. */
function mailbox (tokens: Token[], at: number): Parsed<{ address: string, end: number }> {
  // A display name (a phrase, with the dots of §4.1 obs-phrase) runs up to the first other special.
  let i = at
  while (tokens[i] !== undefined && (tokens[i]?.kind !== 'special' || tokens[i]?.text === '.')) i++
  const stop = tokens[i]
  if (stop === undefined || stop.text === ',') return fail('has no @')
  if (stop.text === ':') return fail('is a group ("name: …;"), which is not accepted: list the addresses')
  if (stop.text === ';') return fail('has a ";": separate addresses with commas')
  if (stop.text !== '<') return addrSpec(tokens, at)
  if (isSpecial(tokens[at], '.')) return fail('has a display name that starts with a dot')
  const spec = addrSpec(tokens, i + 1)
  if (!spec.ok) return spec
  if (!isSpecial(tokens[spec.value.end], '>')) return fail('has a "<" without its ">"')
  return { ok: true, value: { address: spec.value.address, end: spec.value.end + 1 } }
}

/** The mailbox grammar alone, without the fast path: one mailbox, or a list. */
export function parseByGrammar (value: string, shape: 'one' | 'list'): Parsed<string[]> {
  const tokens = tokenize(value)
  if (!tokens.ok) return tokens
  const t = tokens.value
  const several = t.some((x) => isSpecial(x, ','))
  if (shape === 'one' && several) return fail('must be one address, not a list')
  const out: string[] = []
  let i = 0
  while (i < t.length) {
    if (isSpecial(t[i], ',')) { i++; continue }
    const one = mailbox(t, i)
    if (!one.ok) return several ? fail(`${one.problem} (address ${out.length + 1} of the list)`) : one
    out.push(one.value.address)
    i = one.value.end
    if (i < t.length && !isSpecial(t[i], ',')) {
      return fail(`has ${JSON.stringify(t[i]?.text)} after ${several ? `address ${out.length}` : 'the address'}: separate addresses with commas`)
    }
  }
  if (out.length === 0) return fail('has no address')
  return { ok: true, value: out }
}

// The common case, `user@example.com` or `Name <user@example.com>` in plain ASCII, by one regular
// expression: a strict subset of the grammar above (a property test holds them to that), which
// keeps the price of an address at ingest well under a microsecond.
const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-"
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const ADDR = `[${ATEXT}]+(?:\\.[${ATEXT}]+)*@${LABEL}(?:\\.${LABEL})*\\.[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`
const SIMPLE = new RegExp(`^(?:(${ADDR})|(?:[${ATEXT}][${ATEXT} .]*)?<(${ADDR})>)$`)

function simpleMailbox (value: string): string | null {
  const m = SIMPLE.exec(value)
  const address = m?.[1] ?? m?.[2]
  if (address === undefined || address.length > MAX_ADDRESS_OCTETS || address.indexOf('@') > MAX_LOCAL_OCTETS) return null
  if (address.length - address.indexOf('@') - 1 > MAX_DOMAIN_OCTETS || /xn--/i.test(address)) return null
  return address
}

/** Exactly one mailbox (a `from`), as its addr-spec. */
export function parseMailbox (value: string): Parsed<string> {
  const simple = simpleMailbox(value)
  if (simple !== null) return { ok: true, value: simple }
  const one = parseByGrammar(value, 'one')
  return one.ok ? { ok: true, value: one.value[0] as string } : one
}

/** Every mailbox of a comma-separated list (at least one), as addr-specs. */
export function parseMailboxList (value: string): Parsed<string[]> {
  const simple = simpleMailbox(value)
  return simple !== null ? { ok: true, value: [simple] } : parseByGrammar(value, 'list')
}
