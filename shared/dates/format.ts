/**
 * Writers: the ISO 8601 form every record stores and the RFC 2822 form Mailgun reads
 * (`o:deliverytime`). Both take epoch milliseconds and build the text from integer fields; an
 * invalid argument (NaN, an offset beyond RFC 5322's ±99:59) is a bug in the caller and throws `RangeError`.
 */
import { civilFromDays, DAY_NAMES, MONTH_NAMES, MS_PER_DAY, weekdayOfDays } from './calendar.js'

/** Largest time value a `Date` holds (ECMA-262 §21.4.1.22 TimeClip). */
const MAX_TIME = 8.64e15

/** RFC 5322 §3.3: a zone is within -9959 … +9959, i.e. ±(99 × 60 + 59) minutes. */
const MAX_OFFSET = 99 * 60 + 59

const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + String(i))

const fromCharCode = String.fromCharCode

function pad4 (n: number): string {
  return n >= 1000 ? String(n) : n >= 100 ? '0' + String(n) : n >= 10 ? '00' + String(n) : '000' + String(n)
}

function checkInstant (instant: number, fn: string): number {
  if (typeof instant !== 'number' || !(Math.abs(instant) <= MAX_TIME)) {
    throw new RangeError(`${fn}: instant must be epoch milliseconds within ±8.64e15, got ${String(instant)}`)
  }
  return Math.trunc(instant)
}

/**
 * `instant` as `Date#toISOString` writes it (`2011-10-13T18:02:00.000Z`), built without a Date
 * for years 0000–9999; other years take the expanded `±YYYYYY` form via `Date`.
 */
export function toIso (instant: number): string {
  const t = checkInstant(instant, 'toIso')
  const days = Math.floor(t / MS_PER_DAY)
  const civil = civilFromDays(days)
  const y = civil / 10_000 | 0
  if (y < 0 || y > 9999 || days < -719_528) return new Date(t).toISOString()
  let ms = t - days * MS_PER_DAY
  const h = ms / 3_600_000 | 0
  ms -= h * 3_600_000
  const mi = ms / 60_000 | 0
  ms -= mi * 60_000
  const s = ms / 1000 | 0
  ms -= s * 1000
  return isoOf(y, (civil / 100 | 0) % 100, civil % 100, h, mi, s, ms)
}

/**
 * `YYYY-MM-DDTHH:MM:SS.mmmZ` from UTC fields (year 0–9999), in one allocation: String.fromCharCode
 * with every character measured about 4× faster than concatenating the parts.
 */
export function isoOf (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): string {
  return fromCharCode(48 + (y / 1000 | 0), 48 + (y / 100 | 0) % 10, 48 + (y / 10 | 0) % 10, 48 + y % 10, 45,
    48 + (mo / 10 | 0), 48 + mo % 10, 45, 48 + (d / 10 | 0), 48 + d % 10, 84,
    48 + (h / 10 | 0), 48 + h % 10, 58, 48 + (mi / 10 | 0), 48 + mi % 10, 58, 48 + (s / 10 | 0), 48 + s % 10, 46,
    48 + (ms / 100 | 0), 48 + (ms / 10 | 0) % 10, 48 + ms % 10, 90)
}

/**
 * RFC 5322 §3.3 date-time of `instant` seen at `offsetMinutes` east of UTC (default 0), always
 * with a numeric zone: `Thu, 13 Oct 2011 18:02:00 +0000`. Milliseconds are dropped (the grammar
 * has none). `null` writes `-0000`, RFC 5322's "UTC, local offset unknown".
 */
export function formatRfc2822 (instant: number, offsetMinutes: number | null = 0): string {
  const t = checkInstant(instant, 'formatRfc2822')
  const off = offsetMinutes ?? 0
  if (!Number.isInteger(off) || off < -MAX_OFFSET || off > MAX_OFFSET) {
    throw new RangeError(`formatRfc2822: offsetMinutes must be an integer within ±${MAX_OFFSET}, got ${String(offsetMinutes)}`)
  }
  const local = t + off * 60_000
  const days = Math.floor(local / MS_PER_DAY)
  const civil = civilFromDays(days)
  const y = civil / 10_000 | 0
  if (y < 0 || days < -719_528) throw new RangeError(`formatRfc2822: year ${y} cannot be written in RFC 5322`)
  let sec = Math.floor((local - days * MS_PER_DAY) / 1000)
  const h = sec / 3600 | 0
  sec -= h * 3600
  const mi = sec / 60 | 0
  sec -= mi * 60
  const abs = off < 0 ? -off : off
  const zone = offsetMinutes === null ? '-0000' : (off < 0 ? '-' : '+') + PAD2[abs / 60 | 0]! + PAD2[abs % 60]!
  return DAY_NAMES[weekdayOfDays(days)]! + ', ' + PAD2[civil % 100]! + ' ' + MONTH_NAMES[((civil / 100 | 0) % 100) - 1]! + ' ' +
    pad4(y) + ' ' + PAD2[h]! + ':' + PAD2[mi]! + ':' + PAD2[sec]! + ' ' + zone
}
