/** The loop-free fast path of {@link parseRfc2822} (see rfc2822.ts for the grammar and decisions). */
import { daysFromCivil, daysInMonth, weekdayOfDays } from './calendar.js'
import { monthOf, weekdayOf } from './scan.js'
import { acceptLocal, type ParsedDate } from './types.js'
import { NOT_A_ZONE, OFFSET_UNKNOWN, zoneOffset } from './zones.js'

/**
 * The layouts servers actually write, read with no scanning loops: single spaces, four-digit year,
 * two-digit hour, numeric or three-letter zone, e.g. `Thu, 13 Oct 2011 18:02:00 +0000`,
 * `Mon, 10 May 2021 09:12:52 GMT`, `13 Oct 2011 18:02 -0500`, `Sun Nov  6 08:49:37 1994`.
 * Returns null as soon as anything differs or is wrong; the general scanner then decides (and
 * words the error), so this path only ever accepts what the scanner accepts, with the same result.
 */
export function quick (s: string, len: number): ParsedDate | null {
  let i = 0
  let weekday = -1
  let asctime = false
  const c0 = s.charCodeAt(0)
  if (c0 >= 0x41) {
    // names are matched by packed char codes, which is only sound for ASCII
    if ((c0 | s.charCodeAt(1) | s.charCodeAt(2)) >= 0x80) return null
    weekday = weekdayOf(s, 0, 3)
    const c3 = s.charCodeAt(3)
    if (weekday < 0) return null
    if (c3 === 0x2c && s.charCodeAt(4) === 0x20) i = 5
    else if (c3 === 0x20) asctime = true
    else return null
  }
  let day: number
  let month: number
  if (asctime) {
    if ((s.charCodeAt(4) | s.charCodeAt(5) | s.charCodeAt(6)) >= 0x80 || s.charCodeAt(7) !== 0x20) return null
    month = monthOf(s, 4, 7)
    const d1 = s.charCodeAt(8)
    const d2 = s.charCodeAt(9) - 48
    if ((d2 >>> 0) > 9 || s.charCodeAt(10) !== 0x20) return null
    if (d1 === 0x20) day = d2
    else if (((d1 - 48) >>> 0) > 9) return null
    else day = (d1 - 48) * 10 + d2
    i = 11
  } else {
    const d1 = s.charCodeAt(i) - 48
    if ((d1 >>> 0) > 9) return null
    const c = s.charCodeAt(i + 1)
    if (c === 0x20) {
      day = d1
      i += 2
    } else {
      const d2 = c - 48
      if ((d2 >>> 0) > 9 || s.charCodeAt(i + 2) !== 0x20) return null
      day = d1 * 10 + d2
      i += 3
    }
    if ((s.charCodeAt(i) | s.charCodeAt(i + 1) | s.charCodeAt(i + 2)) >= 0x80 || s.charCodeAt(i + 3) !== 0x20) return null
    month = monthOf(s, i, i + 3)
    i += 4
  }
  let year = 0
  if (!asctime) {
    const y1 = s.charCodeAt(i) - 48
    const y2 = s.charCodeAt(i + 1) - 48
    const y3 = s.charCodeAt(i + 2) - 48
    const y4 = s.charCodeAt(i + 3) - 48
    if ((y1 >>> 0) > 9 || (y2 >>> 0) > 9 || (y3 >>> 0) > 9 || (y4 >>> 0) > 9 || s.charCodeAt(i + 4) !== 0x20) return null
    year = y1 * 1000 + y2 * 100 + y3 * 10 + y4
    i += 5
  }
  const h1 = s.charCodeAt(i) - 48
  const h2 = s.charCodeAt(i + 1) - 48
  const m1 = s.charCodeAt(i + 3) - 48
  const m2 = s.charCodeAt(i + 4) - 48
  if ((h1 >>> 0) > 9 || (h2 >>> 0) > 9 || s.charCodeAt(i + 2) !== 0x3a || (m1 >>> 0) > 9 || (m2 >>> 0) > 9) return null
  const hour = h1 * 10 + h2
  const minute = m1 * 10 + m2
  let second = 0
  i += 5
  if (s.charCodeAt(i) === 0x3a) {
    const s1 = s.charCodeAt(i + 1) - 48
    const s2 = s.charCodeAt(i + 2) - 48
    if ((s1 >>> 0) > 9 || (s2 >>> 0) > 9) return null
    second = s1 * 10 + s2
    i += 3
  }
  if (s.charCodeAt(i) !== 0x20) return null
  i++
  let offset = 0
  let offsetKnown = true
  const rest = len - i
  if (asctime) {
    const y1 = s.charCodeAt(i) - 48
    const y2 = s.charCodeAt(i + 1) - 48
    const y3 = s.charCodeAt(i + 2) - 48
    const y4 = s.charCodeAt(i + 3) - 48
    if (rest !== 4 || (y1 >>> 0) > 9 || (y2 >>> 0) > 9 || (y3 >>> 0) > 9 || (y4 >>> 0) > 9) return null
    year = y1 * 1000 + y2 * 100 + y3 * 10 + y4
  } else if (rest === 5) {
    const sign = s.charCodeAt(i)
    const z1 = s.charCodeAt(i + 1) - 48
    const z2 = s.charCodeAt(i + 2) - 48
    const z3 = s.charCodeAt(i + 3) - 48
    const z4 = s.charCodeAt(i + 4) - 48
    if ((sign !== 0x2b && sign !== 0x2d) || (z1 >>> 0) > 9 || (z2 >>> 0) > 9 || (z3 >>> 0) > 5 || (z4 >>> 0) > 9) return null
    offset = (z1 * 10 + z2) * 60 + z3 * 10 + z4
    if (sign === 0x2d) {
      offset = -offset
      if (offset === 0) offsetKnown = false
    }
  } else if (rest === 3) {
    if ((s.charCodeAt(i) | s.charCodeAt(i + 1) | s.charCodeAt(i + 2)) >= 0x80) return null
    offset = zoneOffset(s, i, i + 3)
    if (offset === NOT_A_ZONE || offset === OFFSET_UNKNOWN) return null
  } else {
    return null
  }
  if (month === 0 || year < 1900 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null
  const days = daysFromCivil(year, month, day)
  if (weekday >= 0 && weekdayOfDays(days) !== weekday) return null
  return acceptLocal(days, year, month, day, hour, minute, second, 0, offset, offsetKnown)
}
