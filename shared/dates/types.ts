import { MS_PER_DAY } from './calendar.js'
import { isoOf, toIso } from './format.js'

/** Why a date string was refused. Stable codes: callers branch on them, never on `message`. */
export type DateErrorCode = 'empty' | 'syntax' | 'unknown-zone' | 'out-of-range' | 'weekday-mismatch'

/**
 * The outcome of parsing one date string. Parsers return this and never throw.
 *
 * - `instant`: epoch milliseconds (UTC).
 * - `iso`: the same instant as `Date#toISOString` writes it (`2011-10-13T18:02:00.000Z`).
 * - `offsetMinutes`: the writer's local offset east of UTC, or `null` when the input says the local
 *   offset is unknown (`-0000`, RFC 3339 `-00:00`, the military one-letter zones of RFC 5322 §4.3).
 *   The instant is certain either way.
 * - `exact`: always `true` for an accepted input; nothing is ever guessed (an abbreviation whose
 *   offset is not certain is an `unknown-zone` error instead).
 */
export type ParsedDate =
  | { ok: true, instant: number, iso: string, offsetMinutes: number | null, exact: boolean }
  | { ok: false, code: DateErrorCode, message: string, raw: string }

export type DateError = Extract<ParsedDate, { ok: false }>

export function dateError (code: DateErrorCode, message: string, raw: string): DateError {
  return { ok: false, code, message, raw }
}


/**
 * The accepted result from validated local fields: `days` is `daysFromCivil(year, month, day)`,
 * `offset` the zone's minutes east of UTC. When the UTC time falls on the same day (the common
 * case) the ISO text is written from the fields directly instead of from the instant.
 */
export function acceptLocal (days: number, year: number, month: number, day: number, hour: number, minute: number,
  second: number, ms: number, offset: number, offsetKnown: boolean): ParsedDate {
  const utcMinute = hour * 60 + minute - offset
  const instant = days * MS_PER_DAY + (utcMinute * 60 + second) * 1000 + ms
  const iso = utcMinute >= 0 && utcMinute < 1440
    ? isoOf(year, month, day, utcMinute / 60 | 0, utcMinute % 60, second, ms)
    : toIso(instant)
  return { ok: true, instant, iso, offsetMinutes: offsetKnown ? offset : null, exact: true }
}
