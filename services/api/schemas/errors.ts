import { Type } from '@sinclair/typebox'
import { RETRY_AFTER_SECONDS } from '../errors.js'

/** A response header telling when to come back, for /docs. */
export const RetryAfterHeader = { type: 'integer', description: `seconds to wait before trying again (${RETRY_AFTER_SECONDS})` }

/**
 * 503 on any route that needs Redis. `MQ_ERR_UNAVAILABLE`: nothing was stored or changed.
 * `MQ_ERR_OUTCOME_UNKNOWN` (ingest only): the connection broke mid-write and Redis could not be
 * asked since; a retry with the same Idempotency-Key stores the message exactly once.
 */
export const UnavailableSchema = Type.Object({ message: Type.String(), code: Type.Optional(Type.String()) }, {
  description: 'Redis cannot be reached, or is full, read-only, loading or paused. MQ_ERR_UNAVAILABLE: nothing was stored, retry after Retry-After. MQ_ERR_OUTCOME_UNKNOWN: the store stopped answering mid-write; a retry with the same Idempotency-Key is safe (without one it may queue the message twice)',
  headers: { 'retry-after': RetryAfterHeader }
})
