import { Type } from '@sinclair/typebox'
import { RETRY_AFTER_SECONDS } from '../errors.js'

/** A response header telling when to come back, for /docs. */
export const RetryAfterHeader = { type: 'integer', description: `seconds to wait before trying again (${RETRY_AFTER_SECONDS})` }

/** 503 on any route that needs Redis (`MQ_ERR_UNAVAILABLE`): nothing was stored or changed. */
export const UnavailableSchema = Type.Object({ message: Type.String(), code: Type.Optional(Type.String()) }, {
  description: 'Redis cannot be reached, or is full, read-only or paused: nothing was stored; retry after Retry-After (safe with the same Idempotency-Key)',
  headers: { 'retry-after': RetryAfterHeader }
})
