/** `npm run start:api`: the HTTP API alone. */
import { configuredRegions, openRegionLinks } from '../../shared/region-link.js'
import { createProcessLogger } from '../../shared/logger.js'
import { createMetrics } from '../../shared/metrics.js'
import { loadSenderConfigOrExit, onShutdown } from '../../shared/process.js'
import { buildApi } from './app.js'
import { redisByRegion, warnAboutUnsafeRedis } from '../../shared/startup.js'

const config = loadSenderConfigOrExit()
const logger = createProcessLogger(config)
const regions = configuredRegions(config)
const links = openRegionLinks(config, 'producer', regions)
const app = await buildApi({ config, links, logger, metrics: createMetrics(links) })
await warnAboutUnsafeRedis(links, logger)
onShutdown(async () => {
  await app.close()
  await links.close()
})
const url = await app.listen({ host: config.host, port: config.port })
logger.info({ url, redis: redisByRegion(config, regions) }, 'api listening')
