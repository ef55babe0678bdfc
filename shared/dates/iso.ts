/**
 * ISO 8601 / RFC 3339 date-time in the extended format, as API clients send it:
 * `2026-11-26T16:18:19Z`, `2026-11-26T16:18:19.123+01:00`, `2026-11-26 16:18Z`.
 *
 * - `T`, `t` or one space between date and time; seconds optional; a fraction after `.` or `,` of
 *   any length, truncated to milliseconds.
 * - A zone is required (`Z`, `±HH:MM`, `±HHMM` or `±HH`): a local time without one names no
 *   instant, and guessing the server's zone is exactly what this module exists to avoid.
 *   `-00:00` is RFC 3339 §4.3's "UTC, local offset unknown" and gives `offsetMinutes: null`.
 * - Years 0000–9999. Second 60 is clamped to `:59.999` as in the RFC 5322 parser. `24:00`, basic
 *   format (`20261126T161819Z`), week and ordinal dates are refused as `syntax`/`out-of-range`.
 */
import { daysFromCivil, daysInMonth, MONTH_NAMES } from './calendar.js'
import { excerpt, isDigit } from './scan.js'
import { acceptLocal, dateError, type ParsedDate } from './types.js'

/** Two digits at `i` as a number, or -1. */
function two (s: string, i: number): number {
  const a = s.charCodeAt(i)
  const b = s.charCodeAt(i + 1)
  return isDigit(a) && isDigit(b) ? (a - 48) * 10 + b - 48 : -1
}

const EXAMPLE = 'such as 2026-11-26T16:18:19Z or 2026-11-26T17:18:19.123+01:00'

/** Parses an ISO 8601 extended date-time with a required zone. Never throws. */
export function parseIso8601 (input: string): ParsedDate {
  if (typeof input !== 'string') return dateError('syntax', 'the date is not a string', '')
  const s = input
  const len = s.length
  if (len === 0 || s.trim() === '') return dateError('empty', 'no date was given', s)
  const yh = two(s, 0)
  const yl = two(s, 2)
  const month = two(s, 5)
  const day = two(s, 8)
  if (yh < 0 || yl < 0 || s.charCodeAt(4) !== 0x2d || month < 0 || s.charCodeAt(7) !== 0x2d || day < 0 || isDigit(s.charCodeAt(10))) {
    return dateError('syntax', `expected an ISO 8601 date-time ${EXAMPLE}`, s)
  }
  const year = yh * 100 + yl
  if (len === 10) return dateError('syntax', `a time and a zone are needed after the date, ${EXAMPLE}`, s)
  const sep = s.charCodeAt(10)
  if (sep !== 0x54 && sep !== 0x74 && sep !== 0x20) return dateError('syntax', `expected "T" between date and time, ${EXAMPLE}`, s)
  const hour = two(s, 11)
  const minute = two(s, 14)
  if (hour < 0 || s.charCodeAt(13) !== 0x3a || minute < 0) return dateError('syntax', `expected the time as HH:MM[:SS], ${EXAMPLE}`, s)
  let i = 16
  let second = 0
  let ms = 0
  if (s.charCodeAt(i) === 0x3a) {
    second = two(s, i + 1)
    if (second < 0) return dateError('syntax', 'expected two-digit seconds after ":"', s)
    i += 3
    const c = s.charCodeAt(i)
    if (c === 0x2e || c === 0x2c) {
      i++
      let n = 0
      let d = 0
      while (i < len && isDigit(d = s.charCodeAt(i))) {
        if (n < 3) ms = ms * 10 + d - 48
        n++
        i++
      }
      if (n === 0) return dateError('syntax', 'expected digits after the decimal sign', s)
      if (n === 1) ms *= 100
      else if (n === 2) ms *= 10
    }
  }
  if (i >= len) return dateError('syntax', `a zone is needed (Z or ±HH:MM), ${EXAMPLE}`, s)
  const c = s.charCodeAt(i)
  let offset = 0
  let offsetKnown = true
  if (c === 0x5a || c === 0x7a) {
    i++
  } else if (c === 0x2b || c === 0x2d) {
    const zh = two(s, i + 1)
    if (zh < 0) return dateError('syntax', `expected the zone as ±HH:MM at ${excerpt(s, i, len)}`, s)
    i += 3
    let zm = 0
    if (i < len) {
      if (s.charCodeAt(i) === 0x3a) i++
      zm = two(s, i)
      if (zm < 0) return dateError('syntax', `expected the zone as ±HH:MM at ${excerpt(s, i, len)}`, s)
      i += 2
    }
    if (zh > 23 || zm > 59) return dateError('out-of-range', `zone offset is out of range (−23:59…+23:59)`, s)
    offset = zh * 60 + zm
    if (c === 0x2d) {
      offset = -offset
      if (offset === 0) offsetKnown = false
    }
  } else {
    return dateError('syntax', `a zone is needed (Z or ±HH:MM) at ${excerpt(s, i, len)}`, s)
  }
  if (i !== len) return dateError('syntax', `unexpected text after the zone: ${excerpt(s, i, len)}`, s)

  if (month < 1 || month > 12) return dateError('out-of-range', `month ${month} is out of range (01–12)`, s)
  if (day < 1 || day > daysInMonth(year, month)) return dateError('out-of-range', `${MONTH_NAMES[month - 1]!} ${year} has no day ${day}`, s)
  if (hour > 23) return dateError('out-of-range', `hour ${hour} is out of range (00–23)`, s)
  if (minute > 59) return dateError('out-of-range', `minute ${minute} is out of range (00–59)`, s)
  if (second > 60) return dateError('out-of-range', `second ${second} is out of range (00–60)`, s)
  if (second === 60) {
    second = 59
    ms = 999
  }
  return acceptLocal(daysFromCivil(year, month, day), year, month, day, hour, minute, second, ms, offset, offsetKnown)
}
