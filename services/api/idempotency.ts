/**
 * Idempotency-Key, as Stripe does it: the first request with a key claims it with a fingerprint of
 * itself (method, route, body) and the answer it is about to give, ids included. A later request
 * with the key and the same fingerprint is a replay: it completes the claimed messages (adds are
 * idempotent by id, so a retry after a 503 or a lost answer stores them exactly once) and gets the
 * first answer; a different fingerprint is a 422. Concurrent first uses: one claim wins, the others
 * replay it.
 *
 * Claims live in one home store, the Redis of the first configured region (us, then eu), so two
 * regions can never disagree about a key. A claim holds the client's name, a hash of the key, the
 * fingerprint, the message ids and the first answer: never message content.
 */
import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { RedisClient } from '../../shared/redis.js'
import { HttpError } from './errors.js'

/** How long an Idempotency-Key is remembered (CONTRACT.md: 24 h). */
const IDEMPOTENCY_TTL_SECONDS = 86_400

export interface Claim<A> {
  /** Hex SHA-256 of the request: see fingerprintOf. */
  fingerprint: string
  /** Epoch ms the claimed messages were made at: a replay re-adds them as they were. */
  createdAt: number
  /** The first answer. */
  answer: A
}

export type ClaimResult<A> = { kind: 'first' } | { kind: 'replay', claim: Claim<A> } | { kind: 'mismatch' }

/** Where claims live: the home store's connection and key naming. */
export interface ClaimStore { redis: RedisClient, key: (client: string, key: string) => string }

/**
 * Claims (client, key) for `claim`, or returns the claim already there: one round trip
 * (SET NX GET, Redis 7). Rejects when Redis does (the caller's 503: nothing was stored).
 */
export async function claimKey<A> (store: ClaimStore, client: string, key: string, claim: Claim<A>): Promise<ClaimResult<A>> {
  const redisKey = store.key(client, createHash('sha256').update(key).digest('hex'))
  const first = await store.redis.set(redisKey, JSON.stringify(claim), 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX', 'GET')
  if (first === null) return { kind: 'first' }
  const stored = JSON.parse(first) as Claim<A>
  // Claims from before fingerprints held the answer alone, and only once the message was stored.
  if (stored.fingerprint === undefined) return { kind: 'replay', claim: { ...claim, answer: stored as A } }
  return stored.fingerprint === claim.fingerprint ? { kind: 'replay', claim: stored } : { kind: 'mismatch' }
}

/** The request's Idempotency-Key, or null; a 400 when it is empty or too long. */
export function idempotencyKey (req: FastifyRequest): string | null {
  // Checked here rather than by a headers schema, which would cost every request.
  const key = req.headers['idempotency-key']
  if (key === undefined) return null
  if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
    throw new HttpError('MQ_ERR_VALIDATION', 'the Idempotency-Key header must be given once, 1 to 255 characters')
  }
  return key
}

/** What makes two requests the same: method, route and the exact body (hashed as it was read). */
export function fingerprintOf (req: FastifyRequest): string {
  return createHash('sha256').update(`${req.method} ${req.routeOptions.url ?? req.url}\n${req.bodySha256 ?? ''}`).digest('hex')
}
