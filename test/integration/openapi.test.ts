import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Validator } from '@seriousme/openapi-schema-validator'
import { buildApi } from '../../services/api/app.js'
import { createLogger } from '../../shared/logger.js'
import { createMetrics } from '../../shared/metrics.js'
import { registeredRoutes, undocumented } from '../helpers/openapi.js'
import { startStack, type Stack } from '../helpers/stack.js'

interface Media { schema?: { type?: string, format?: string, properties?: Record<string, { type?: string, format?: string, items?: { format?: string } }>, required?: string[] } }
interface Operation {
  tags?: string[]
  summary?: string
  security?: unknown[]
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, { description: string, content?: Record<string, Media>, headers?: Record<string, unknown> }>
}
interface Spec { openapi: string, paths: Record<string, Record<string, Operation>>, tags?: Array<{ name: string }> }

let stack: Stack
let spec: Spec
before(async () => {
  stack = await startStack({ worker: false })
  const res = await stack.api.inject({ url: '/docs/json' })
  assert.equal(res.statusCode, 200)
  spec = res.json<Spec>()
})
after(async () => { await stack.close() })

const operations = (): Array<[string, string, Operation]> =>
  Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [method.toUpperCase(), path, op] as [string, string, Operation]))
const op = (method: string, path: string): Operation => {
  const found = spec.paths[path]?.[method]
  assert.ok(found, `${method.toUpperCase()} ${path} is documented`)
  return found
}

test('/docs/json is a valid OpenAPI 3 document', async () => {
  const result = await new Validator().validate(spec as unknown as Record<string, unknown>)
  assert.deepEqual(result.errors ?? [], [])
  assert.equal(result.valid, true)
  assert.match(spec.openapi, /^3\./)
})

test('every route the API registers is in /docs/json', () => {
  const routes = registeredRoutes(stack.api)
  assert.ok(routes.length >= 15, `found ${routes.length} routes`)
  for (const r of ['GET /healthz', 'GET /readyz', 'GET /metrics', 'POST /v3/{domain}/messages', 'POST /v3/{domain}/messages.mime', 'POST /v1/webhooks/mailgun']) {
    assert.ok(routes.some((x) => `${x.method} ${x.path}` === r), `${r} is among the routes found`)
  }
  assert.deepEqual(undocumented(stack.api, spec), [])
})

test('the check names a route added without documentation, or hidden from it', async () => {
  const api = await buildApi({ config: stack.config, links: stack.links, logger: createLogger('silent'), metrics: createMetrics(null) })
  api.get('/v1/undocumented/:thing', async () => ({}))
  api.post('/v1/hidden', { schema: { hide: true } }, async () => ({}))
  await api.ready()
  try {
    const served = (await api.inject({ url: '/docs/json' })).json<Spec>()
    const missing = undocumented(api, served).map((r) => `${r.method} ${r.path}`).sort()
    assert.deepEqual(missing, ['GET /v1/undocumented/{thing}', 'POST /v1/hidden'])
  } finally {
    await api.close()
  }
})

test('every operation is tagged, summarised and documents its error answers', () => {
  for (const [method, path, o] of operations()) {
    const name = `${method} ${path}`
    assert.ok(o.tags?.length, `${name} has a tag`)
    assert.ok(spec.tags?.some((t) => t.name === o.tags?.[0]), `${name}'s tag is described`)
    assert.ok(o.summary, `${name} has a summary`)
    const errors = Object.keys(o.responses).filter((s) => /^[45]/.test(s))
    // Probes answer their own state, and the dashboard is a page, not the error shape.
    if (['/healthz', '/readyz', '/metrics', '/dashboard'].includes(path)) continue
    assert.ok(errors.length > 0, `${name} documents an error answer`)
    for (const status of errors) {
      const json = o.responses[status]?.content?.['application/json']?.schema
      if (json) assert.ok(json.properties?.message, `${name} ${status} has a message`)
    }
  }
  // Routes that need a client key say so, and document its refusal.
  for (const [method, path, o] of operations()) {
    const open = ['/healthz', '/readyz', '/metrics', '/dashboard', '/v1/webhooks/mailgun'].includes(path)
    assert.equal(o.security !== undefined && o.security.length === 0, open, `${method} ${path}: ${open ? 'no' : 'a'} client key`)
    if (!open) assert.ok(o.responses['401'] ?? o.responses['4XX'], `${method} ${path} documents 401`)
  }
  const ingest = op('post', '/v1/messages')
  assert.ok(ingest.responses['503']?.headers?.['retry-after'], '503 says when to retry')
})

test('/v3 routes: both encodings with Mailgun\'s field names, the .mime message file, and Mailgun\'s answers', () => {
  const messages = op('post', '/v3/{domain}/messages')
  const content = messages.requestBody?.content ?? {}
  assert.deepEqual(Object.keys(content).sort(), ['application/x-www-form-urlencoded', 'multipart/form-data'])
  for (const [type, media] of Object.entries(content)) {
    const fields = media.schema?.properties ?? {}
    for (const name of ['from', 'to', 'cc', 'bcc', 'subject', 'text', 'html', 'amp-html', 'template', 't:variables', 'o:tag', 'o:deliverytime', 'o:testmode', 'recipient-variables', 'h:X-My-Header', 'v:my-var']) {
      assert.ok(fields[name], `${type} documents ${name}`)
    }
    assert.deepEqual(media.schema?.required?.sort(), ['from', 'to'])
  }
  assert.equal(content['multipart/form-data']?.schema?.properties?.attachment?.items?.format, 'binary')
  assert.equal(content['application/x-www-form-urlencoded']?.schema?.properties?.attachment, undefined, 'files need multipart')

  const mime = op('post', '/v3/{domain}/messages.mime').requestBody?.content ?? {}
  assert.deepEqual(Object.keys(mime), ['multipart/form-data'])
  assert.equal(mime['multipart/form-data']?.schema?.properties?.message?.format, 'binary')
  assert.deepEqual(mime['multipart/form-data']?.schema?.required?.sort(), ['message', 'to'])

  for (const path of ['/v3/{domain}/messages', '/v3/{domain}/messages.mime']) {
    const r = op('post', path).responses
    assert.deepEqual(Object.keys(r['200']?.content?.['application/json']?.schema?.properties ?? {}).sort(), ['id', 'message'])
    assert.equal(r['401']?.content?.['text/plain']?.schema?.type, 'string', `${path}: 401 is the text Forbidden`)
    for (const status of ['400', '403', '404', '413', '503']) assert.ok(r[status], `${path} documents ${status}`)
  }
})

test('the webhook body is Mailgun\'s: signature {timestamp, token, signature} and event-data', () => {
  const hook = op('post', '/v1/webhooks/mailgun')
  const body = hook.requestBody?.content['application/json']?.schema
  assert.deepEqual(body?.required?.sort(), ['event-data', 'signature'])
  const signature = body?.properties?.signature as { properties?: Record<string, unknown> } | undefined
  assert.deepEqual(Object.keys(signature?.properties ?? {}).sort(), ['signature', 'timestamp', 'token'])
  for (const status of ['200', '400', '401', '409']) assert.ok(hook.responses[status], `webhook documents ${status}`)
})

test('/healthz, /readyz and /metrics are documented; /metrics answers Prometheus text', () => {
  assert.ok(op('get', '/healthz').responses['200'])
  const ready = op('get', '/readyz').responses
  assert.ok(ready['200'] && ready['503'], '/readyz documents 200 and 503')
  assert.ok(ready['503']?.headers?.['retry-after'])
  assert.equal(op('get', '/metrics').responses['200']?.content?.['text/plain']?.schema?.type, 'string')
})

test('documenting the /v3 bodies validates nothing: Mailgun fields the docs do not list still pass', async () => {
  const res = await stack.api.inject({
    method: 'POST',
    url: '/v3/mg.example.com/messages',
    headers: { ...stack.auth(), 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'from=a%40mg.example.com&to=x%40example.com&text=hi&o:tag=a&o:tag=b&h:X-Campaign=7&v:order=42&o:sending-ip=1.2.3.4'
  })
  assert.equal(res.statusCode, 200, res.body)
  const noFrom = await stack.api.inject({
    method: 'POST',
    url: '/v3/mg.example.com/messages',
    headers: { ...stack.auth(), 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'to=x%40example.com&text=hi'
  })
  assert.equal(noFrom.statusCode, 400)
  assert.equal(noFrom.json().message, 'from parameter is missing', 'Mailgun\'s own words, not a schema error')
})
