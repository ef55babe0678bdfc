import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

/** OpenAPI from the route schemas: UI at /docs, spec at /docs/json. */
export const docsPlugin = fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      info: { title: 'mailqueue', version: '0.1.0', description: 'Queue-backed email sending for Mailgun' },
      components: { securitySchemes: { clientKey: { type: 'http', scheme: 'basic' }, bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ clientKey: [] }, { bearer: [] }]
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'docs' })
