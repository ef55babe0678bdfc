/**
 * Dates at mailqueue's edges: RFC 2822 / RFC 5322 and HTTP dates from Mailgun, ISO 8601 from API
 * clients, one exact UTC instant out. A leaf module: imports nothing outside `shared/dates/`.
 */
export type { DateErrorCode, ParsedDate } from './types.js'
export { parseRfc2822 } from './rfc2822.js'
export { parseIso8601 } from './iso.js'
export { parseInstant } from './instant.js'
export { formatRfc2822, toIso } from './format.js'
export { ZONES } from './zones.js'
