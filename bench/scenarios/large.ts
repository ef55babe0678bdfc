import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { bearer, message } from '../fixtures.js'
import { SimClient } from '../sim-client.js'
import { fmtBytes, type Context, type Scenario, type ScenarioResult } from '../scenario.js'
import { DOMAIN, flushRedis, mailqueueAvailable, startMailqueueApi, startMailqueueWorker } from '../stack.js'
import type { Service } from '../processes.js'

/** The memory scenario's target for a process, plus the messages' own size (CONTRACT: 25 MB each at most). */
const RSS_TARGET = 200 * 1024 * 1024
const MESSAGES = 10

interface Route {
  name: string
  /** The request for one message whose attachment is `file`. */
  request(file: Buffer): { path: string, contentType: string, body: Buffer }
}

const ROUTES: Route[] = [
  {
    name: '/v1/messages',
    request: (file) => ({
      path: '/v1/messages',
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify({ ...message(0), attachments: [{ filename: 'large.bin', content: file.toString('base64') }] }))
    })
  },
  {
    name: '/v3/:domain/messages',
    request: (file) => {
      const boundary = `bench${randomBytes(8).toString('hex')}`
      const field = (name: string, value: string): string => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
      const head = field('from', 'Bench <bench@bench.test>') + field('to', 'user@example.com') + field('subject', 'large') + field('text', 'attached') +
        `--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="large.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
      return {
        path: `/v3/${DOMAIN}/messages`,
        contentType: `multipart/form-data; boundary=${boundary}`,
        body: Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)])
      }
    }
  }
]

/**
 * Large messages: 10 messages with a 20 MB attachment each, sent at once to a fresh API with a
 * worker running, on each ingest route in turn. Figures: how long until every answer, the answers,
 * how long until all 10 were delivered, and the peak RSS of the API and of the worker.
 */
export const large: Scenario = {
  name: 'large',
  title: 'large messages',
  steps: ROUTES.length,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const size = ctx.count(20_000_000, 2_000_000)
    const file = randomBytes(size)
    const target = RSS_TARGET + MESSAGES * size
    Object.assign(out.figures, { messages: MESSAGES, attachmentBytes: size })
    if (!mailqueueAvailable().api || !mailqueueAvailable().worker) {
      out.notes.push('large: mailqueue API or worker missing, not measured')
      return
    }
    const sim = new SimClient(ctx.stack.simUrl)
    for (const route of ROUTES) {
      const done = ctx.progress.step(`large: ${MESSAGES} × ${fmtBytes(size)} attachments at once on ${route.name}`)
      await flushRedis(ctx.stack)
      await sim.reset()
      const services: Service[] = []
      try {
        const api = await startMailqueueApi(ctx.stack)
        services.push(api.svc)
        const worker = await startMailqueueWorker(ctx.stack)
        services.push(worker)
        const { path, contentType, body } = route.request(file)
        const headers = { ...bearer(ctx.stack.clientKey), 'content-type': contentType }
        const started = Date.now()
        const answers = await Promise.all(Array.from({ length: MESSAGES }, async () => {
          const res = await request(`${api.url}${path}`, { method: 'POST', headers, body })
          await res.body.arrayBuffer()
          return res.statusCode
        }))
        const answeredMs = Date.now() - started
        const accepted = answers.filter((s) => s === 200 || s === 202).length
        const deliveredMs = await sim.waitForReceived(accepted, 120_000).then((at) => at - started, () => NaN)
        const apiPeak = api.svc.peakRss() ?? NaN
        const workerPeak = worker.peakRss() ?? NaN
        const statuses = Object.fromEntries([...new Set(answers)].map((s) => [s, answers.filter((x) => x === s).length]))
        out.figures[route.name] = { answeredMs, statuses, deliveredMs, apiPeakRssBytes: apiPeak, workerPeakRssBytes: workerPeak }
        done(`answers ${JSON.stringify(statuses)} in ${(answeredMs / 1000).toFixed(1)} s, delivered in ${(deliveredMs / 1000).toFixed(1)} s, API ${fmtBytes(apiPeak)}, worker ${fmtBytes(workerPeak)}`)
        out.rows.push({
          scenario: 'large messages',
          subject: `${route.name}: ${MESSAGES} × ${fmtBytes(size)} at once`,
          result: `${accepted}/${MESSAGES} accepted in ${(answeredMs / 1000).toFixed(1)} s, delivered in ${(deliveredMs / 1000).toFixed(1)} s; peak RSS API ${fmtBytes(apiPeak)}, worker ${fmtBytes(workerPeak)}`,
          target: `all accepted; each ≤ ${fmtBytes(target)}`,
          pass: accepted === MESSAGES && apiPeak <= target && workerPeak <= target
        })
      } finally {
        await Promise.all(services.map(async (s) => await s.stop()))
      }
    }
  }
}
