import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import { fieldPath } from '../../shared/schema-errors.js'
import { keyLabel } from './validation/labels.js'

/** Every error the API answers with: stable code, HTTP status, message safe to show a caller. */
export const ERRORS = {
  MQ_ERR_UNAUTHORIZED: { status: 401, message: 'missing or unknown client key' },
  /** One answer for every webhook that cannot be verified, so it tells nothing about the keys. */
  MQ_ERR_SIGNATURE: { status: 401, message: 'webhook signature not verified' },
  MQ_ERR_DOMAIN_FORBIDDEN: { status: 403, message: 'this client key may not send for domain %s' },
  MQ_ERR_VALIDATION: { status: 400, message: '%s' },
  MQ_ERR_NOT_FOUND: { status: 404, message: '%s not found' },
  MQ_ERR_DOMAIN_UNKNOWN: { status: 404, message: 'Domain not found: %s' },
  MQ_ERR_CONFLICT: { status: 409, message: '%s' },
  MQ_ERR_TOO_LARGE: { status: 413, message: '%s' },
  MQ_ERR_IDEMPOTENCY_MISMATCH: { status: 422, message: 'this Idempotency-Key was first used for a different request (route or body): use a new key for a new message' },
  MQ_ERR_RATE_LIMITED: { status: 429, message: '%s' },
  /** Not stored, for certain: a retry is safe. */
  MQ_ERR_UNAVAILABLE: { status: 503, message: 'the queue store is unavailable, retry later' },
  /** The connection to Redis broke with the message on it and Redis could not be asked since. */
  MQ_ERR_OUTCOME_UNKNOWN: {
    status: 503,
    message: 'the queue store stopped answering while storing: the message may or may not be stored. A retry with the same Idempotency-Key is safe; without one it may queue the message twice'
  },
  MQ_ERR_INTERNAL: { status: 500, message: 'internal error' }
} as const

export type ErrorCode = keyof typeof ERRORS

export class HttpError extends Error {
  readonly statusCode: number
  /** `retryAfterSeconds`: sent as Retry-After (429s; 503s get RETRY_AFTER_SECONDS). */
  constructor (readonly code: ErrorCode, detail = '', readonly retryAfterSeconds?: number) {
    super(ERRORS[code].message.replace('%s', detail))
    this.name = 'HttpError'
    this.statusCode = ERRORS[code].status
  }
}

/** Seconds a client should wait after a 503 before trying again. */
export const RETRY_AFTER_SECONDS = 2

/** A connection to Redis that failed or broke. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

/**
 * Redis refusing work for a while: full (maxmemory with noeviction), a read-only replica, loading
 * its data, a master or cluster down, a slot moving, busy with a script, a failing disk (MISCONF),
 * no clients left, a fenced add (MQFENCED, MQSTAGING); and the ACL errors of a misconfigured
 * connection.
 */
const STORE_REFUSAL = /^(?:OOM|READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|MISCONF|NOAUTH|WRONGPASS|NOPERM|MQFENCED|MQSTAGING)\b|^ERR max number of clients/

/**
 * Redis failures (unreachable, connection lost, command timeout, or Redis refusing as above):
 * a 503 with Retry-After, never a 500. Matched by shape, since ioredis has no error codes for the
 * connection's own failures.
 */
export function isStoreUnavailable (err: unknown): boolean {
  const e = err as { name?: string, code?: string, message?: string }
  const message = e?.message ?? ''
  if (e?.name === 'ReplyError') return STORE_REFUSAL.test(message)
  return e?.name === 'MaxRetriesPerRequestError' || e?.name === 'ClusterAllFailedError' || CONNECTION_ERRORS.has(e?.code ?? '') ||
    /Stream isn't writeable|Connection is closed|Command timed out|Too many Cluster redirections|None of startup nodes is available|Failed to refresh slots cache/.test(message)
}


export function errorHandler (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (err.validation) {
    void reply.code(400).send({ message: err.message, code: 'MQ_ERR_VALIDATION' })
    return
  }
  if (err instanceof HttpError || (err.name === 'HttpError' && err.code in ERRORS)) {
    const retryAfter = (err as HttpError).retryAfterSeconds ?? (err.statusCode === 503 ? RETRY_AFTER_SECONDS : undefined)
    if (retryAfter !== undefined) void reply.header('retry-after', retryAfter)
    void reply.code(err.statusCode ?? 500).send({ message: err.message, code: err.code })
    return
  }
  if (isStoreUnavailable(err)) {
    req.log.warn({ err, method: req.method, url: req.url }, 'queue store unavailable')
    void reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ message: ERRORS.MQ_ERR_UNAVAILABLE.message, code: 'MQ_ERR_UNAVAILABLE' })
    return
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
  if (status === 500) req.log.error({ err, method: req.method, url: req.url }, 'request failed')
  // 4xx from Fastify itself (bad JSON, body too large) are safe to show; 5xx details are not.
  void reply.code(status).send(status === 500
    ? { message: ERRORS.MQ_ERR_INTERNAL.message, code: 'MQ_ERR_INTERNAL' }
    : { message: err.message, code: err.code })
}

/**
 * A schema error as one line naming the field the way the caller wrote it: `to[3] must NOT have
 * more than 998 characters`, `from is required`, `querystring.limit must be integer`.
 */
export function schemaError (errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0]
  const root = dataVar === 'body' ? '' : dataVar
  const path = first ? fieldPath(first.instancePath, root) : dataVar
  const field = path === '(root)' ? dataVar : path
  const params = (first?.params ?? {}) as { missingProperty?: string, additionalProperty?: string }
  let message = `${field} ${first?.message ?? 'is invalid'}`
  if (first?.keyword === 'required' && params.missingProperty) message = `${keyLabel(path === '(root)' ? '' : path, params.missingProperty)} is required`
  if (first?.keyword === 'additionalProperties' && params.additionalProperty) message = `${keyLabel(path === '(root)' ? '' : path, params.additionalProperty)} is not a known field`
  return new Error(message)
}
