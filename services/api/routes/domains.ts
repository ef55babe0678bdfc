import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ClientConfig, Config, DomainConfig, Region } from '../../../shared/config.js'
import { HoldStore, type Hold } from '../../../shared/holds.js'
import type { RegionLinks } from '../../../shared/region-link.js'
import { HttpError } from '../errors.js'
import { assertDomainAllowed } from '../plugins/auth.js'
import { DomainListSchema, DomainParamsSchema, ResumedSchema, type DomainView } from '../schemas/admin.js'
import { ErrorSchema } from '../schemas/message.js'

export interface DomainsRouteOptions { config: Config, links: RegionLinks }

/** /v1/domains: configured domains with their hold state (never their keys), and resume. */
export const domainsRoutes: FastifyPluginAsyncTypebox<DomainsRouteOptions> = async (app, { config, links }) => {
  app.addHook('onRequest', app.authenticate)
  // Holds live in each region's own Redis, as the worker writes them.
  const holds = new Map([...links.links.values()].map((l) => [l.region, new HoldStore(l)]))
  const holdsOf = (region: Region): HoldStore => {
    const store = holds.get(region)
    if (!store) throw new Error(`region ${region} is not open in this process`)
    return store
  }

  app.get('/v1/domains', {
    schema: { response: { 200: DomainListSchema, '4xx': ErrorSchema } }
  }, async (req) => {
    const visible = [...config.domains.values()].filter((d) => mayUse(req.client, d))
    const regions = [...new Set(visible.map((d) => d.region))]
    const byRegion = new Map(await Promise.all(regions.map(async (r) => [r, await holdsOf(r).all()] as const)))
    return { domains: visible.map((d) => view(d, byRegion.get(d.region) ?? new Map())) }
  })

  app.post('/v1/domains/:name/resume', {
    schema: { params: DomainParamsSchema, response: { 200: ResumedSchema, '4xx': ErrorSchema } }
  }, async (req) => {
    const name = req.params.name.toLowerCase()
    // Permission first: a restricted client learns nothing about domains it may not use.
    assertDomainAllowed(req.client, name)
    const domain = config.domains.get(name)
    if (!domain) throw new HttpError('MQ_ERR_NOT_FOUND', `domain ${name}`)
    const store = holdsOf(domain.region)
    await store.release('domain', name)
    // An operator asking to resume means "try again": a held region would keep the domain waiting.
    await store.release('region', domain.region)
    return { name, state: 'active' as const }
  })
}

const mayUse = (client: ClientConfig, d: DomainConfig): boolean => client.domains === '*' || client.domains.has(d.name)

/** A domain's own hold wins over its region's: it names the more specific cause. */
function view (d: DomainConfig, holds: ReadonlyMap<string, Hold>): DomainView {
  const hold = holds.get(`domain:${d.name}`) ?? holds.get(`region:${d.region}`)
  const base = { name: d.name, region: d.region, ratePerSecond: d.ratePerSecond }
  return hold ? { ...base, state: 'held', hold: { reason: hold.reason, since: hold.since } } : { ...base, state: 'active' }
}
