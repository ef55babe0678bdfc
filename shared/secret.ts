import { inspect } from 'node:util'

const REDACTED = '[redacted]'

/**
 * A secret value (sending key, client key, webhook key). It prints as "[redacted]" through
 * String(), JSON.stringify and util.inspect, so a config object can be logged without leaking;
 * reveal() is called only where an Authorization header or HMAC is built.
 */
export class Secret {
  readonly #value: string
  constructor (value: string) { this.#value = value }
  reveal (): string { return this.#value }
  toString (): string { return REDACTED }
  toJSON (): string { return REDACTED }
  [inspect.custom] (): string { return REDACTED }
}
