/** API input: whichever of ISO 8601 and RFC 2822 the text is written in. */
import { parseIso8601 } from './iso.js'
import { parseRfc2822 } from './rfc2822.js'
import { isDigit } from './scan.js'
import type { ParsedDate } from './types.js'

/**
 * Parses an ISO 8601 date-time (`2026-11-26T16:18:19Z`) or an RFC 2822 / HTTP date
 * (`Thu, 13 Oct 2011 18:02:00 +0000`). Text that starts with three digits is ISO 8601 and
 * anything else RFC 2822: no RFC 2822 form starts that way, so the errors name the right grammar.
 * Never throws.
 */
export function parseInstant (input: string): ParsedDate {
  if (typeof input === 'string' && isDigit(input.charCodeAt(0)) && isDigit(input.charCodeAt(1)) && isDigit(input.charCodeAt(2))) {
    return parseIso8601(input)
  }
  return parseRfc2822(input)
}
