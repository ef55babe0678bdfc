import fp from 'fastify-plugin'
import type { FastifySchema } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { UnavailableSchema } from '../schemas/errors.js'

declare module 'fastify' {
  interface FastifySchema {
    /**
     * A request body shown in /docs but never validated: for routes that read their body
     * themselves (the /v3 forms, multipart through `req.parts()`), where `body` would make
     * Fastify check `req.body` against it. Same shape as `body` (may use `content` per media type).
     */
    documentedBody?: unknown
    /** Request headers shown in /docs but never validated (the route checks the one it reads itself). */
    documentedHeaders?: unknown
  }
}

/** Tags by path; a route's own `tags` win. Operations on the same resource sit together in /docs. */
const TAGS: ReadonlyArray<{ name: string, description: string, paths: RegExp }> = [
  { name: 'messages', description: 'Queue messages (JSON), read their records, cancel, retry and replay them', paths: /^\/v1\/messages(\/|$)/ },
  { name: 'domains', description: 'Configured domains, their holds, and releasing them', paths: /^\/v1\/domains(\/|$)/ },
  { name: 'stats', description: 'Messages by state and sent / failed per minute, per region (the dashboard\'s figures)', paths: /^\/v1\/stats$/ },
  { name: 'mailgun', description: 'Mailgun-compatible drop-in: what official Mailgun SDKs call', paths: /^\/v3\// },
  { name: 'webhooks', description: 'Mailgun event webhooks (signed, no client key)', paths: /^\/v1\/webhooks\// },
  { name: 'operations', description: 'Probes, Prometheus metrics and the dashboard page (no client key)', paths: /^\/(healthz|readyz|metrics|dashboard)$/ }
]

/** Routes that never touch Redis, so never answer 503 for it. */
const WITHOUT_REDIS = /^\/(healthz|metrics|dashboard)$/

/**
 * The schema /docs shows for a route: its `documentedBody` as the body, a tag from its path, and
 * the 503 every route that needs Redis can answer. Only the documentation changes; Fastify
 * validates and serialises with the route's own schema.
 */
function documented ({ schema, url }: { schema: FastifySchema | undefined, url: string }): { schema: FastifySchema, url: string } {
  const { documentedBody, documentedHeaders, ...doc } = schema ?? {}
  const tag = TAGS.find((t) => t.paths.test(url))?.name
  const response = doc.response as Record<string, unknown> | undefined
  return {
    url,
    schema: {
      ...doc,
      ...(documentedBody === undefined ? {} : { body: documentedBody }),
      ...(documentedHeaders === undefined ? {} : { headers: documentedHeaders }),
      ...(doc.tags === undefined && tag !== undefined ? { tags: [tag] } : {}),
      ...(response?.['503'] === undefined && !WITHOUT_REDIS.test(url) ? { response: { ...response, 503: UnavailableSchema } } : {})
    }
  }
}

/** OpenAPI from the route schemas: UI at /docs, spec at /docs/json (every route but the UI's own). */
export const docsPlugin = fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'mailqueue',
        version: '0.1.0',
        description: 'Queue-backed email sending for Mailgun. Errors are `{"message", "code"}` (the /v3 routes answer as Mailgun does); a 503 carries Retry-After: `MQ_ERR_UNAVAILABLE` means nothing was stored, `MQ_ERR_OUTCOME_UNKNOWN` that the store stopped answering mid-write, and a retry with the same Idempotency-Key is safe.'
      },
      tags: TAGS.map(({ name, description }) => ({ name, description })),
      components: {
        securitySchemes: {
          clientKey: { type: 'http', scheme: 'basic', description: 'user `api`, password the client key (what Mailgun SDKs send)' },
          bearer: { type: 'http', scheme: 'bearer', description: 'the client key' }
        }
      },
      security: [{ clientKey: [] }, { bearer: [] }]
    },
    transform: documented
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'docs' })
