/**
 * Properties of the date parsers with fast-check: format → parse is the identity on instant and
 * offset, the fast path and the general scanner agree, and no input (random or a mutation of a
 * valid date) makes a parser throw or return anything but a well-formed result.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { formatRfc2822, parseInstant, parseIso8601, parseRfc2822, toIso, type ParsedDate } from '../../shared/dates/index.js'
import { scanRfc2822 } from '../../shared/dates/rfc2822.js'

const CODES = new Set(['empty', 'syntax', 'unknown-zone', 'out-of-range', 'weekday-mismatch'])

/** Whole seconds from 1900-01-06 to 9999-12-26, so the local time at any offset stays in 1900–9999. */
const instant = fc.integer({ min: Date.UTC(1900, 0, 6) / 1000, max: Date.UTC(9999, 11, 26) / 1000 }).map((s) => s * 1000)
/** RFC 5322 §3.3: -9959 … +9959, mostly within a day, where real zones are. */
const offset = fc.oneof({ arbitrary: fc.integer({ min: -1439, max: 1439 }), weight: 4 }, { arbitrary: fc.integer({ min: -5999, max: 5999 }), weight: 1 })

function wellFormed (r: ParsedDate, input: string): void {
  if (r.ok) {
    assert.ok(Number.isInteger(r.instant), 'instant is an integer')
    assert.equal(r.iso, new Date(r.instant).toISOString())
    assert.ok(r.offsetMinutes === null || (Number.isInteger(r.offsetMinutes) && Math.abs(r.offsetMinutes) <= 5999))
    assert.equal(r.exact, true)
    assert.deepEqual(Object.keys(r), ['ok', 'instant', 'iso', 'offsetMinutes', 'exact'])
  } else {
    assert.ok(CODES.has(r.code), r.code)
    assert.equal(typeof r.message, 'string')
    assert.ok(r.message.length > 0)
    assert.equal(r.raw, input)
    assert.deepEqual(Object.keys(r), ['ok', 'code', 'message', 'raw'])
  }
}

test('format then parse gives back the instant and the offset', () => {
  fc.assert(fc.property(instant, offset, (t, off) => {
    const text = formatRfc2822(t, off)
    const r = parseRfc2822(text)
    assert.ok(r.ok, `${text}: ${r.ok ? '' : r.message}`)
    assert.equal(r.instant, t)
    assert.equal(r.offsetMinutes, off)
    assert.equal(r.iso, toIso(t))
    assert.equal(r.instant, Date.parse(text), 'V8 agrees on the canonical form')
    const iso = parseIso8601(toIso(t))
    assert.ok(iso.ok && iso.instant === t)
  }), { numRuns: 5000 })
})

test('-0000 round-trips as an unknown offset', () => {
  fc.assert(fc.property(instant, (t) => {
    const r = parseRfc2822(formatRfc2822(t, null))
    assert.ok(r.ok && r.instant === t && r.offsetMinutes === null)
  }), { numRuns: 1000 })
})

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

/** Valid dates in many layouts (the fast path's and the scanner's), to mutate. */
const validDate = fc.tuple(instant, offset, fc.integer({ min: 0, max: 7 })).map(([t, off, layout]) => {
  const text = formatRfc2822(t, off)
  const d = new Date(t)
  const two = (n: number): string => String(n).padStart(2, '0')
  switch (layout) {
    case 0: return text
    case 1: return text.slice(5) // no weekday
    case 2: return formatRfc2822(t).replace('+0000', 'GMT')
    case 3: return `${DAYS[d.getUTCDay()]!} ${MONTHS[d.getUTCMonth()]!} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`
    case 4: return text.replace(', ', ',  (c) ').replace(/ ([+-])/, ' (x(y)) $1')
    case 5: return toIso(t)
    case 6: return formatRfc2822(t, -300).replace('-0500', 'EST')
    default: return formatRfc2822(t).replace(/^\w+, (\d+) (\w+) \d\d(\d\d)/, 'Monday, $1-$2-$3').replace('+0000', 'GMT') // RFC 850
  }
})

const noise = fc.constantFrom(...'0123456789 ,:+-()\\\r\n\tAZazGMTESTUPDCJ-ñ\u0166\u00ff\uffff'.split(''))
const char = fc.oneof(noise, fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }))
const edit = fc.record({ op: fc.constantFrom('insert', 'delete', 'replace'), at: fc.nat(), ch: char })

function mutate (s: string, edits: Array<{ op: string, at: number, ch: string }>): string {
  for (const e of edits) {
    const i = s.length === 0 ? 0 : e.at % (s.length + (e.op === 'insert' ? 1 : 0))
    if (e.op === 'insert') s = s.slice(0, i) + e.ch + s.slice(i)
    else if (e.op === 'delete') s = s.slice(0, i) + s.slice(i + 1)
    else s = s.slice(0, i) + e.ch + s.slice(i + 1)
  }
  return s
}

function checkAll (input: string): void {
  const r = parseRfc2822(input)
  wellFormed(r, input)
  assert.deepEqual(r, scanRfc2822(input), `fast path and scanner agree on ${JSON.stringify(input)}`)
  wellFormed(parseIso8601(input), input)
  wellFormed(parseInstant(input), input)
}

test('parsing never throws on 50,000 mutations of valid dates', () => {
  fc.assert(fc.property(validDate, fc.array(edit, { minLength: 0, maxLength: 4 }), (s, edits) => {
    checkAll(mutate(s, edits))
  }), { numRuns: 50_000 })
})

test('parsing never throws on 50,000 random strings', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 40, unit: 'binary' }), fc.array(noise, { maxLength: 40 }).map((a) => a.join(''))), (s) => {
    checkAll(s)
  }), { numRuns: 50_000 })
})
