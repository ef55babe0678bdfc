/** `npm run start:api`: the HTTP API alone. */
import { configuredRegions, openRegionLinks } from '../../shared/region-link.js'
import { createLogger } from '../../shared/logger.js'
import { createMetrics } from '../../shared/metrics.js'
import { loadSenderConfigOrExit, onShutdown } from '../../shared/process.js'
import { buildApi } from './app.js'
import { warnAboutUnsafeRedis } from '../../shared/startup.js'

const config = loadSenderConfigOrExit()
const logger = createLogger(config.logLevel)
const links = openRegionLinks(config, 'producer', configuredRegions(config))
const app = await buildApi({ config, links, logger, metrics: createMetrics(links) })
await warnAboutUnsafeRedis(links, logger)
onShutdown(async () => {
  await app.close()
  await links.close()
})
const url = await app.listen({ host: config.host, port: config.port })
logger.info({ url }, 'api listening')
