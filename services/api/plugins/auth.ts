import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { sha256Hex, type ClientConfig } from '../../../shared/config.js'
import { HttpError } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated client; set by the `authenticate` hook. */
    client: ClientConfig
  }
  interface FastifyInstance {
    /** onRequest hook for routes that need a client key. */
    authenticate: (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  }
}

/**
 * The key a caller sent, Mailgun-style (`Basic base64("api:" + key)`, the user exactly `api`, as
 * Mailgun takes it) or as `Bearer key`.
 */
export function presentedKey (header: string | undefined): string | null {
  if (!header) return null
  const space = header.indexOf(' ')
  const scheme = header.slice(0, space).toLowerCase()
  const value = header.slice(space + 1).trim()
  if (scheme === 'bearer') return value || null
  if (scheme !== 'basic') return null
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  return decoded.startsWith('api:') && decoded.length > 4 ? decoded.slice(4) : null
}

export function assertDomainAllowed (client: ClientConfig, domain: string): void {
  if (client.domains !== '*' && !client.domains.has(domain)) throw new HttpError('MQ_ERR_DOMAIN_FORBIDDEN', domain)
}

export const authPlugin = fp(async (app, opts: { clients: readonly ClientConfig[] }) => {
  // Looked up by the key's SHA-256, never by the key: a lookup's timing can only tell something
  // about the hash, which gives nothing away about the key.
  const byHash = new Map(opts.clients.map((c) => [c.keySha256.toString('hex'), c]))
  app.decorateRequest('client', null as unknown as ClientConfig)
  // A callback hook, not an async one: it runs on every request, and a promise per request shows.
  app.decorate('authenticate', (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const key = presentedKey(req.headers.authorization)
    const client = key === null ? undefined : byHash.get(sha256Hex(key))
    if (!client) return done(new HttpError('MQ_ERR_UNAUTHORIZED'))
    req.client = client
    done()
  })
}, { name: 'auth' })
