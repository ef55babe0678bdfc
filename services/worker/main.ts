/** `npm run start:worker`: the sending worker alone, with /healthz, /readyz and /metrics on WORKER_PORT. */
import { configuredRegions, openRegionLinks } from '../../shared/region-link.js'
import { createProcessLogger } from '../../shared/logger.js'
import { createMetrics } from '../../shared/metrics.js'
import { loadSenderConfigOrExit, onShutdown } from '../../shared/process.js'
import { redisByRegion, warnAboutUnsafeRedis } from '../../shared/startup.js'
import { buildWorkerHttp } from './http.js'
import { createMailgunClient } from './mailgun-client.js'
import { startWorker } from './worker.js'

const config = loadSenderConfigOrExit()
const logger = createProcessLogger(config)
const served = configuredRegions(config).filter((r) => config.workerRegions.includes(r))
const links = openRegionLinks(config, 'worker', served)
// This process's own metrics only: the API reports the cluster-wide ones (shared/metrics.ts).
const metrics = createMetrics(null)
let stopping = false
const http = buildWorkerHttp({ links, metrics, logger, stopping: () => stopping })
// Listen before taking work: a port already in use stops start-up before any job is touched.
const httpUrl = await http.listen({ host: config.host, port: config.workerPort }).catch((err: NodeJS.ErrnoException) => {
  process.stderr.write(`mailqueue: cannot serve /healthz, /readyz, /metrics on ${config.host}:${config.workerPort} (WORKER_PORT): ${err.code ?? err.message}\n`)
  process.exit(1)
})
const client = createMailgunClient({ baseUrl: config.mailgunBase, timeoutMs: config.sendTimeoutMs, connections: config.workerConcurrency })
const worker = await startWorker({ config, links, logger, client, metrics })
await warnAboutUnsafeRedis(links, logger)
onShutdown(async () => {
  stopping = true
  logger.info('worker stopping: no new jobs, finishing sends in flight')
  await worker.close()
  await http.close()
  await client.close()
  await links.close()
})
logger.info({ regions: served, concurrency: config.workerConcurrency, redis: redisByRegion(config, served), http: httpUrl }, 'worker started')
