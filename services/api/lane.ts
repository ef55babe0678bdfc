import type { Redis } from 'ioredis'
import type { RedisClient } from '../../shared/redis.js'
import { CLOCK_SKEW_MS } from '../../shared/redis.js'

/** A command must start in Redis within this of being sent, plus the time the bytes ahead of it and its own take. */
const START_MS = 1000
/** The pace a command's bytes are allowed (10 MB/s): a 25 MB message gets 2.5 s more. */
const BYTES_PER_MS = 10_000
/** Past a command's notAfter, the API waits this long for its answer: the clock skew, then its run and its reply. */
const MARGIN_MS = CLOCK_SKEW_MS + 500
/**
 * At most this many bytes of large commands in flight on a lane, unless one alone is larger: a
 * command is a copy of its bytes (ioredis joins its values), and ten 20 MB commands sent at once
 * would hold ten such copies. Smaller commands never wait.
 */
const WINDOW_BYTES = 48_000_000
const LARGE_BYTES = 1_000_000

/** What became of a command by its deadline. `broke`: the connection closed while it was on it. */
export type LaneAnswer<T> = ({ kind: 'answer', value: T } | { kind: 'error', error: unknown } | { kind: 'none' }) & { deadline: number, broke: boolean }

/**
 * The API's connection for writes to one region's Redis (adds and the uploads before them): no
 * command timeout, as a command that timed out would still run once Redis resumes. Instead each
 * command gets a deadline by which the API stops waiting: `notAfter`, the last moment Redis may
 * start it (sized for the bytes ahead of it on the lane and its own), plus MARGIN_MS.
 */
export class Lane {
  readonly redis: RedisClient
  #pendingBytes = 0
  #waiting: Array<{ bytes: number, go: () => void }> = []
  #breaks = 0

  constructor (redis: RedisClient) {
    this.redis = redis
    const broke = (): void => { this.#breaks++ }
    redis.on('close', broke)
    // A cluster's node connections break on their own, without the cluster closing.
    redis.on('+node', (node: Redis) => { node.on('close', broke) })
  }

  /**
   * Runs `command` (given its notAfter) once the lane has room for `bytes`, and waits for its
   * answer until its deadline. A lane not connected by then sends nothing: an error.
   */
  async run<T> (bytes: number, command: (notAfter: number) => Promise<T>): Promise<LaneAnswer<T>> {
    await this.#room(bytes)
    const notAfter = Date.now() + START_MS + Math.ceil(this.#pendingBytes / BYTES_PER_MS)
    const deadline = notAfter + MARGIN_MS
    const breaks = this.#breaks
    try {
      if (!await readyBy(this.redis, deadline)) return { kind: 'error', error: new Error('no connection to Redis'), deadline, broke: false }
      const reply = command(notAfter).then((value) => ({ kind: 'answer' as const, value }), (error: unknown) => ({ kind: 'error' as const, error }))
      const answer = await Promise.race([reply, after(deadline)])
      return { ...answer ?? { kind: 'none' }, deadline, broke: this.#breaks !== breaks }
    } finally {
      this.#leave(bytes)
    }
  }

  /** Takes room for `bytes`: at once for a small command or when the lane has room. */
  async #room (bytes: number): Promise<void> {
    const fits = bytes < LARGE_BYTES || this.#pendingBytes === 0 || this.#pendingBytes + bytes <= WINDOW_BYTES
    if (fits && this.#waiting.length === 0) {
      this.#pendingBytes += bytes
      return
    }
    await new Promise<void>((go) => { this.#waiting.push({ bytes, go }) })
  }

  /** Gives back the room of a command answered or past its deadline; lets waiting ones in. */
  #leave (bytes: number): void {
    this.#pendingBytes -= bytes
    for (let next = this.#waiting[0]; next && (this.#pendingBytes === 0 || this.#pendingBytes + next.bytes <= WINDOW_BYTES); next = this.#waiting[0]) {
      this.#waiting.shift()
      this.#pendingBytes += next.bytes
      next.go()
    }
  }
}

/** Resolves (undefined) at `deadline`, after one more turn of I/O: an answer already on the socket is read first. */
export async function after (deadline: number): Promise<undefined> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))
  await new Promise((resolve) => setImmediate(resolve))
  return undefined
}

/** Whether the connection is ready, or becomes ready before `deadline`. */
export async function readyBy (redis: RedisClient, deadline: number): Promise<boolean> {
  if (redis.status === 'ready') return true
  if (redis.status === 'end') return false
  return await new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      resolve(ready)
    }
    const onReady = (): void => { done(true) }
    const timer = setTimeout(() => { done(false) }, Math.max(0, deadline - Date.now()))
    redis.on('ready', onReady)
  })
}
