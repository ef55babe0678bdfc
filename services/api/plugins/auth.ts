import { timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { sha256, type ClientConfig } from '../../../shared/config.js'
import { HttpError } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated client; set by the `authenticate` hook. */
    client: ClientConfig
  }
  interface FastifyInstance {
    /** onRequest hook for routes that need a client key. */
    authenticate: (req: FastifyRequest) => Promise<void>
  }
}

/** The key a caller sent, Mailgun-style (`Basic base64("api:" + key)`) or as `Bearer key`. */
export function presentedKey (header: string | undefined): string | null {
  if (!header) return null
  const space = header.indexOf(' ')
  const scheme = header.slice(0, space).toLowerCase()
  const value = header.slice(space + 1).trim()
  if (scheme === 'bearer') return value || null
  if (scheme !== 'basic') return null
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : null
}

export function assertDomainAllowed (client: ClientConfig, domain: string): void {
  if (client.domains !== '*' && !client.domains.has(domain)) throw new HttpError('MQ_ERR_DOMAIN_FORBIDDEN', domain)
}

export const authPlugin = fp(async (app, opts: { clients: readonly ClientConfig[] }) => {
  // Indexed by the key's SHA-256: a lookup's timing depends only on the hash, never on the key,
  // and the final comparison is constant-time.
  const byHash = new Map(opts.clients.map((c) => [c.keySha256.toString('hex'), c]))
  app.decorateRequest('client', null as unknown as ClientConfig)
  app.decorate('authenticate', async (req: FastifyRequest) => {
    const key = presentedKey(req.headers.authorization)
    if (key === null) throw new HttpError('MQ_ERR_UNAUTHORIZED')
    const hash = sha256(key)
    const client = byHash.get(hash.toString('hex'))
    if (!client || !timingSafeEqual(hash, client.keySha256)) throw new HttpError('MQ_ERR_UNAUTHORIZED')
    req.client = client
  })
}, { name: 'auth' })
