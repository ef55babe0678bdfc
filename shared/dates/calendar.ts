/**
 * Proleptic Gregorian calendar arithmetic on plain integers (no Date objects): days since
 * 1970-01-01 from a civil date and back, month lengths, weekdays. The day algorithms are Howard
 * Hinnant's `days_from_civil` / `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html),
 * valid for every year from 0 up, which is all the parsers produce.
 */

export const MS_PER_DAY = 86_400_000

/** Days since 1970-01-01 of year `y` (≥ 0), month `m` (1–12), day `d` (1–31). */
export function daysFromCivil (y: number, m: number, d: number): number {
  if (m <= 2) y -= 1
  const era = (y >= 0 ? y : y - 399) / 400 | 0
  const yoe = y - era * 400
  const mp = m > 2 ? m - 3 : m + 9
  const doy = ((153 * mp + 2) / 5 | 0) + d - 1
  const doe = yoe * 365 + (yoe / 4 | 0) - (yoe / 100 | 0) + doy
  return era * 146_097 + doe - 719_468
}

export function isLeapYear (y: number): boolean {
  return (y & 3) === 0 && (y % 100 !== 0 || y % 400 === 0)
}

/** Days in month `m` (1–12) of year `y`. */
export function daysInMonth (y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31
}

/** Day of week of a day number (days since 1970-01-01): 0 = Sunday … 6 = Saturday. */
export function weekdayOfDays (days: number): number {
  const w = (days + 4) % 7
  return w < 0 ? w + 7 : w
}

/**
 * Civil date of a day number, packed as `year * 10000 + month * 100 + day` so no object is
 * allocated (years ≥ 0 only; callers check).
 */
export function civilFromDays (days: number): number {
  const z = days + 719_468
  const era = (z >= 0 ? z : z - 146_096) / 146_097 | 0
  const doe = z - era * 146_097
  const yoe = (doe - (doe / 1460 | 0) + (doe / 36_524 | 0) - (doe / 146_096 | 0)) / 365 | 0
  const doy = doe - (365 * yoe + (yoe / 4 | 0) - (yoe / 100 | 0))
  const mp = (5 * doy + 2) / 153 | 0
  const d = doy - ((153 * mp + 2) / 5 | 0) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0)
  return y * 10_000 + m * 100 + d
}

export const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const
export const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const
