import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import fastifyStatic from '@fastify/static'

const dashboardDocs = {
  security: [],
  summary: 'The operator\'s dashboard (HTML)',
  description: 'A page that signs in with a client key and shows domains, messages by state, failures and a message finder through this API.',
  response: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } }
}

/** The page's files: beside the sources in development, copied next to the build by `npm run build`. */
const ASSETS = fileURLToPath(new URL('../dashboard/', import.meta.url))

/**
 * Only the page's own files run, style or connect, and nothing may frame it: text from messages
 * and Mailgun is put in with textContent, and this is the second line should that ever slip.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"
].join('; ')

/**
 * GET /dashboard: the operator's page, plain files with no build step. It signs in with a client
 * key and uses the HTTP API like any client, so it can do and see nothing the key could not.
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onSend', async (_req, reply) => {
    void reply.headers({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // Revalidated each time (ETag), so a new release's page never runs with old modules.
      'cache-control': 'no-cache'
    })
  })
  await app.register(fastifyStatic, { root: ASSETS, prefix: '/dashboard/', index: false, wildcard: false, cacheControl: false })
  const page = async (_req: unknown, reply: FastifyReply): Promise<FastifyReply> => await reply.sendFile('index.html')
  app.get('/dashboard', { schema: dashboardDocs }, page)
  // The same page; its files (/dashboard/app.js, …) are its assets, not API routes.
  app.get('/dashboard/', { schema: { hide: true } }, page)
}
