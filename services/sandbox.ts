import { randomBytes } from 'node:crypto'
import { sha256, type Config, type DomainConfig } from '../shared/config.js'
import { Secret } from '../shared/secret.js'

export const SANDBOX_DOMAIN = 'sandbox.test'

export interface Sandbox {
  config: Config
  clientKey: string
}

/**
 * Sandbox mode (no config file): one domain, `sandbox.test` in region us, pointed at the local
 * simulator, and one client with a fresh key. Everything else is the production path.
 */
export function sandboxConfig (base: Config, simulatorUrl: string, sendingKey: string): Sandbox {
  const clientKey = `mq-sandbox-${randomBytes(12).toString('hex')}`
  const domain: DomainConfig = {
    name: SANDBOX_DOMAIN, region: 'us', sendingKey: new Secret(sendingKey), webhookSigningKey: null, primaryKey: null, ratePerSecond: null
  }
  const config: Config = Object.freeze({
    ...base,
    mailgunBase: Object.freeze({ ...base.mailgunBase, us: simulatorUrl }),
    clients: Object.freeze([{ name: 'sandbox', keySha256: sha256(clientKey), domains: '*' as const, ratePerSecond: null }]),
    domains: new Map([[SANDBOX_DOMAIN, Object.freeze(domain)]])
  })
  return { config, clientKey }
}
