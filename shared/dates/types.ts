import { toIso } from './format.js'

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

/** The accepted result; every accepted form is exact, nothing is guessed. */
export function dateOk (instant: number, offsetMinutes: number | null): ParsedDate {
  return { ok: true, instant, iso: toIso(instant), offsetMinutes, exact: true }
}
