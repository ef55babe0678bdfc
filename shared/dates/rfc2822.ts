/**
 * RFC 5322 §3.3 date-time, with the obsolete syntax of §4.3, and the three HTTP-date forms of
 * RFC 9110 §5.6.7, in one hand-written char-code scanner (no regular expressions, no substrings
 * on the success path). Never throws; a refusal is a value with a stable `code`.
 *
 * Accepted:
 * - `[day-name ","] day month year hour ":" minute [":" second] zone`, e.g.
 *   `Thu, 13 Oct 2011 18:02:00 +0000`, `13 Oct 2011 18:02 -0500`, `21 Nov 97 09:55:06 GMT`.
 *   CFWS (spaces, tabs, folds, nested comments) may stand between any two tokens, as §4.3 allows;
 *   a trailing line break is ignored. The space before a numeric zone may be missing
 *   (`14:58:26+0800`, unambiguous; CPython accepts it too).
 * - RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (the weekday may be full or abbreviated). The zone
 *   must be `GMT`: RFC 9110 §5.6.7 defines this form as GMT, and RFC 5322 has no `dd-Mon-yy`
 *   date, so the same text with any other zone is neither kind of date and is refused as `syntax`.
 * - asctime: `Sun Nov  6 08:49:37 1994`, which carries no zone and is UTC by RFC 9110's definition.
 * - Day and month names in any case (ABNF literals are case-insensitive, RFC 5234 §2.3).
 * - Years: two digits are 2000–2049 below 50 and 1950–1999 from 50 up, three digits add 1900
 *   (RFC 5322 §4.3). RFC 9110's "more than 50 years in the future" window is not used: it would
 *   make the result depend on the clock. Years before 1900 (RFC 5322 §3.3) or after 9999 are
 *   `out-of-range`.
 * - Zones: `±HHMM` with any hours and minutes ≤ 59, so `-9959` … `+9959` (RFC 5322 §3.3: the
 *   zone "MUST be within the range -9959 through +9959", `+hhmm` meaning `+(hh * 60 + mm)` minutes;
 *   `+2600` is 26 hours east, not an error); `-0000`, meaning UTC with the local offset unknown,
 *   gives `offsetMinutes: null`; `UT`, `GMT`, `UTC`; `EST EDT CST CDT MST MDT PST PDT`; the
 *   military letters `A`–`I`, `K`–`Z`, taken as `-0000` (instant as UTC, offset `null`) as
 *   §4.3 says, because RFC 822 defined their signs backwards.
 *
 * Decisions:
 * - Leap second: second `60` is accepted (§3.3 allows it) and clamped to `:59.999` of the same
 *   minute. The epoch-ms timeline has no leap seconds; clamping keeps the date as written (a
 *   leap second on 31 Dec stays in that year) and keeps order: `:59` < `:60` < the next `:00`.
 * - Weekday mismatch: a day name that is not the weekday of the date as written (local date,
 *   before the offset is applied) is refused as `weekday-mismatch`. §3.3 says the day of week
 *   "MUST be the day implied by the date"; a mismatch means the writer got something wrong and
 *   we cannot tell which part, so no instant is returned.
 * - Unknown zone names (`CET`, `IST`, `BST`, …) are refused as `unknown-zone`, never guessed.
 * - Refused as `syntax`, although some parsers accept them: a day name without its comma
 *   (`Fri 21 Nov …`), dots in the time (`13.47.26`), full month names, one-digit hours,
 *   fractions of a second, a missing zone, text after the zone.
 *
 * When several things are wrong the code reports the first of: `syntax`, `out-of-range`,
 * `weekday-mismatch`, `unknown-zone`.
 */
import { DAY_NAMES, daysFromCivil, daysInMonth, MONTH_NAMES, weekdayOfDays } from './calendar.js'
import { alphaEnd, excerpt, isAlpha, isDigit, key3, monthOf, skipCfws, weekdayOf } from './scan.js'
import { acceptLocal, dateError, type ParsedDate } from './types.js'
import { NOT_A_ZONE, OFFSET_UNKNOWN, zoneOffset } from './zones.js'
import { quick } from './rfc2822-fast.js'

// Scanner outputs of readTime/readYear, kept in module scope so nothing is allocated per parse.
let tHour = 0
let tMinute = 0
let tSecond = 0
let yValue = 0
let failMessage = ''

/** Reads `hh ":" mm [":" ss]` at `i` (CFWS allowed around each part); returns the index after it or -1. */
function readTime (s: string, i: number, end: number): number {
  if (i + 2 > end || !isDigit(s.charCodeAt(i)) || !isDigit(s.charCodeAt(i + 1)) || (i + 2 < end && isDigit(s.charCodeAt(i + 2)))) {
    failMessage = `expected a two-digit hour at ${excerpt(s, i, end)}`
    return -1
  }
  tHour = (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48
  i = skipCfws(s, i + 2, end)
  if (i < 0 || i >= end || s.charCodeAt(i) !== 0x3a) {
    failMessage = 'expected ":" after the hour'
    return -1
  }
  i = skipCfws(s, i + 1, end)
  if (i < 0 || i + 2 > end || !isDigit(s.charCodeAt(i)) || !isDigit(s.charCodeAt(i + 1)) || (i + 2 < end && isDigit(s.charCodeAt(i + 2)))) {
    failMessage = 'expected a two-digit minute'
    return -1
  }
  tMinute = (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48
  tSecond = 0
  i += 2
  const j = skipCfws(s, i, end)
  if (j > 0 && j < end && s.charCodeAt(j) === 0x3a) {
    i = skipCfws(s, j + 1, end)
    if (i < 0 || i + 2 > end || !isDigit(s.charCodeAt(i)) || !isDigit(s.charCodeAt(i + 1)) || (i + 2 < end && isDigit(s.charCodeAt(i + 2)))) {
      failMessage = 'expected a two-digit second'
      return -1
    }
    tSecond = (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48
    i += 2
  }
  return i
}

/** Reads a year of two or more digits at `i` into `yValue` (RFC 5322 §4.3 rules); index after it, or -1. */
function readYear (s: string, i: number, end: number): number {
  let v = 0
  let n = 0
  let c = 0
  while (i < end && isDigit(c = s.charCodeAt(i))) {
    if (n < 9) v = v * 10 + c - 48
    n++
    i++
  }
  if (n < 2) {
    failMessage = n === 0 ? 'expected a year' : 'a year needs at least two digits'
    return -1
  }
  yValue = n === 2 ? (v < 50 ? 2000 + v : 1900 + v) : n === 3 ? 1900 + v : n > 9 ? 1e9 : v
  return i
}

/** `gmt` packed by {@link key3}. */
const GMT = 0x676d74
const RFC850_GMT = 'an RFC 850 date (dd-Mon-yy) is GMT by definition (RFC 9110 §5.6.7); with another zone it is not a date'

function syntax (raw: string, message: string): ParsedDate {
  return dateError('syntax', message, raw)
}

/**
 * Parses an RFC 5322 date-time (with the obsolete syntax) or an RFC 9110 HTTP-date; see the file
 * comment for what is accepted and why. Never throws.
 */
export function parseRfc2822 (input: string): ParsedDate {
  if (typeof input !== 'string') return dateError('syntax', 'the date is not a string', '')
  const len = input.length
  if (len >= 20 && len <= 31) {
    const fast = quick(input, len)
    if (fast !== null) return fast
  }
  return scanRfc2822(input)
}

/**
 * The general scanner behind {@link parseRfc2822}, without the fast path (exported for the
 * property test that checks both agree). Never throws.
 */
export function scanRfc2822 (input: string): ParsedDate {
  if (typeof input !== 'string') return dateError('syntax', 'the date is not a string', '')
  const s = input
  let end = s.length
  while (end > 0) {
    const c = s.charCodeAt(end - 1)
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) end--
    else break
  }
  let i = skipCfws(s, 0, end)
  if (i < 0) return syntax(s, 'a comment is not closed')
  if (i === end) return dateError('empty', 'no date was given', s)

  let c = s.charCodeAt(i)
  let weekday = -1
  let asctime = false
  if (isAlpha(c)) {
    const j = alphaEnd(s, i, end)
    weekday = weekdayOf(s, i, j)
    if (weekday < 0) return syntax(s, `${excerpt(s, i, j)} is not a day name`)
    i = skipCfws(s, j, end)
    if (i < 0) return syntax(s, 'a comment is not closed')
    if (i === end) return syntax(s, 'the date is missing after the day name')
    c = s.charCodeAt(i)
    if (c === 0x2c) {
      i = skipCfws(s, i + 1, end)
      if (i < 0) return syntax(s, 'a comment is not closed')
    } else if (isAlpha(c)) {
      asctime = true
    } else {
      return syntax(s, 'a day name must be followed by a comma')
    }
  }

  let day = 0
  let month = 0
  let year = 0
  let rfc850 = false
  if (!asctime) {
    // day: one or two digits
    if (i >= end || !isDigit(c = s.charCodeAt(i))) return syntax(s, `expected the day of the month at ${excerpt(s, i, end)}`)
    day = c - 48
    i++
    if (i < end && isDigit(c = s.charCodeAt(i))) {
      day = day * 10 + c - 48
      i++
      if (i < end && isDigit(s.charCodeAt(i))) return syntax(s, 'the day of the month has more than two digits')
    }
    if (i < end && s.charCodeAt(i) === 0x2d) {
      // RFC 850: dd-Mon-yy
      rfc850 = true
      const j = alphaEnd(s, i + 1, end)
      month = monthOf(s, i + 1, j)
      if (month === 0) return syntax(s, `expected a three-letter month name at ${excerpt(s, i + 1, end)}`)
      if (j >= end || s.charCodeAt(j) !== 0x2d) return syntax(s, 'expected "-" after the month')
      i = readYear(s, j + 1, end)
      if (i < 0) return syntax(s, failMessage)
    } else {
      i = skipCfws(s, i, end)
      if (i < 0) return syntax(s, 'a comment is not closed')
      const j = alphaEnd(s, i, end)
      month = monthOf(s, i, j)
      if (month === 0) return syntax(s, `expected a three-letter month name at ${excerpt(s, i, end)}`)
      i = skipCfws(s, j, end)
      if (i < 0) return syntax(s, 'a comment is not closed')
      i = readYear(s, i, end)
      if (i < 0) return syntax(s, failMessage)
    }
    i = skipCfws(s, i, end)
    if (i < 0) return syntax(s, 'a comment is not closed')
    i = readTime(s, i, end)
    if (i < 0) return syntax(s, failMessage)
    year = yValue
  } else {
    // asctime: Mon dd hh:mm:ss yyyy
    const j = alphaEnd(s, i, end)
    month = monthOf(s, i, j)
    if (month === 0) return syntax(s, `expected a three-letter month name at ${excerpt(s, i, end)}`)
    i = skipCfws(s, j, end)
    if (i < 0) return syntax(s, 'a comment is not closed')
    if (i >= end || !isDigit(c = s.charCodeAt(i))) return syntax(s, 'expected the day of the month after the month')
    day = c - 48
    i++
    if (i < end && isDigit(c = s.charCodeAt(i))) {
      day = day * 10 + c - 48
      i++
    }
    const k = skipCfws(s, i, end)
    if (k === i || k < 0) return syntax(s, 'expected a space after the day of the month')
    i = readTime(s, k, end)
    if (i < 0) return syntax(s, failMessage)
    const m = skipCfws(s, i, end)
    if (m === i || m < 0) return syntax(s, 'expected a space before the year')
    i = readYear(s, m, end)
    if (i < 0) return syntax(s, failMessage)
    year = yValue
  }

  // zone
  let offset = 0
  let offsetKnown = true
  let zoneStart = 0
  let zoneEnd = 0
  if (!asctime) {
    const afterTime = i
    i = skipCfws(s, i, end)
    if (i < 0) return syntax(s, 'a comment is not closed')
    if (i >= end) return syntax(s, 'a zone is required (±HHMM, GMT or UT)')
    c = s.charCodeAt(i)
    if (c === 0x2b || c === 0x2d) {
      let n = 0
      let v = 0
      let k = i + 1
      let d = 0
      while (k < end && isDigit(d = s.charCodeAt(k))) {
        if (n < 4) v = v * 10 + d - 48
        n++
        k++
      }
      if (n !== 4) return syntax(s, `a numeric zone needs exactly four digits (±HHMM), got ${excerpt(s, i, k)}`)
      if (rfc850) return syntax(s, RFC850_GMT)
      const zh = v / 100 | 0
      const zm = v % 100
      if (zm > 59) return dateError('out-of-range', `zone ${s.slice(i, k)} has more than 59 minutes (−9959…+9959)`, s)
      if (v === 0 && c === 0x2d) offsetKnown = false
      offset = c === 0x2d ? -(zh * 60 + zm) : zh * 60 + zm
      i = k
    } else if (isAlpha(c)) {
      if (i === afterTime) return syntax(s, 'expected a space before the zone')
      zoneStart = i
      zoneEnd = alphaEnd(s, i, end)
      if (rfc850 && (zoneEnd - zoneStart !== 3 || key3(s, zoneStart) !== GMT)) return syntax(s, RFC850_GMT)
      i = zoneEnd
    } else {
      return syntax(s, `expected a zone at ${excerpt(s, i, end)}`)
    }
  }
  i = skipCfws(s, i, end)
  if (i < 0) return syntax(s, 'a comment is not closed')
  if (i !== end) return syntax(s, `unexpected text after the ${asctime ? 'year' : 'zone'}: ${excerpt(s, i, end)}`)

  // ranges
  if (year < 1900 || year > 9999) return dateError('out-of-range', `year ${year} is out of range (1900–9999)`, s)
  if (day < 1 || day > daysInMonth(year, month)) {
    return dateError('out-of-range', `${MONTH_NAMES[month - 1]!} ${year} has no day ${day}`, s)
  }
  if (tHour > 23) return dateError('out-of-range', `hour ${tHour} is out of range (00–23)`, s)
  if (tMinute > 59) return dateError('out-of-range', `minute ${tMinute} is out of range (00–59)`, s)
  if (tSecond > 60) return dateError('out-of-range', `second ${tSecond} is out of range (00–60)`, s)

  const days = daysFromCivil(year, month, day)
  if (weekday >= 0 && weekdayOfDays(days) !== weekday) {
    return dateError('weekday-mismatch',
      `${DAY_NAMES[weekday]!} does not match ${day} ${MONTH_NAMES[month - 1]!} ${year}, which is a ${DAY_NAMES[weekdayOfDays(days)]!}`, s)
  }
  if (zoneEnd > 0) {
    const z = zoneOffset(s, zoneStart, zoneEnd)
    if (z === NOT_A_ZONE) {
      return dateError('unknown-zone',
        `zone ${excerpt(s, zoneStart, zoneEnd)} is not a zone whose offset is certain; use a numeric offset such as +0100`, s)
    }
    if (z === OFFSET_UNKNOWN) offsetKnown = false
    else offset = z
  }

  const leap = tSecond === 60
  return acceptLocal(days, year, month, day, tHour, tMinute, leap ? 59 : tSecond, leap ? 999 : 0, offset, offsetKnown)
}
