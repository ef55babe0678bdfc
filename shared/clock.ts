/** Time source passed to anything whose behaviour depends on "now", so tests can fix it. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
