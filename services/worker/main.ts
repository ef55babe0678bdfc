/** `npm run start:worker`: the sending worker alone. */
import { configuredRegions, openRegionLinks } from '../../shared/region-link.js'
import { createLogger } from '../../shared/logger.js'
import { loadSenderConfigOrExit, onShutdown } from '../../shared/process.js'
import { createMailgunClient } from './mailgun-client.js'
import { startWorker } from './worker.js'
import { warnAboutUnsafeRedis } from '../../shared/startup.js'

const config = loadSenderConfigOrExit()
const logger = createLogger(config.logLevel)
const served = configuredRegions(config).filter((r) => config.workerRegions.includes(r))
const links = openRegionLinks(config, 'worker', served)
const client = createMailgunClient({ baseUrl: config.mailgunBase, timeoutMs: config.sendTimeoutMs, connections: config.workerConcurrency })
const worker = await startWorker({ config, links, logger, client })
await warnAboutUnsafeRedis(links, logger)
onShutdown(async () => {
  await worker.close()
  await client.close()
  await links.close()
})
logger.info({ regions: served, concurrency: config.workerConcurrency }, 'worker started')
