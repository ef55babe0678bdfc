import { enqueueNaive, enqueueViaApi } from '../enqueue.js'
import { bearer, message, TEXT_1KB } from '../fixtures.js'
import { runCannon } from '../load.js'
import { peakRssByName, peakRssLog } from '../processes.js'
import { SimClient } from '../sim-client.js'
import { fmtBytes, fmtInt, type Context, type Scenario, type ScenarioResult } from '../scenario.js'
import { flushRedis, mailqueueAvailable, redisUsedMemory, startMailqueueApi, startMailqueueWorker, type Stack } from '../stack.js'
import type { Service } from '../processes.js'
import { preflight } from '../rounds.js'

const RSS_LIMIT = 200 * 1024 * 1024
const KB3 = 3 * 1024

async function bytesPerMessage (stack: Stack, n: number, enqueue: () => Promise<void>): Promise<number> {
  const before = await redisUsedMemory(stack)
  await enqueue()
  return (await redisUsedMemory(stack) - before) / n
}

export const memory: Scenario = {
  name: 'memory',
  title: 'memory',
  steps: 2,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const n = ctx.count(10_000, 2_000)
    const { figures, rows, notes } = out
    Object.assign(figures, { messages: n, bodyBytes: TEXT_1KB.length })

    let done = ctx.progress.step(`memory: Redis bytes per queued 1 KB message (${fmtInt(n)} msgs)`)
    await flushRedis(ctx.stack)
    const naive = await bytesPerMessage(ctx.stack, n, async () => { await enqueueNaive(ctx.stack, n, TEXT_1KB) })
    figures.naiveRedisBytesPerMessage = naive
    rows.push({ scenario: 'memory', subject: '(b) naive queue: Redis per 1 KB message', result: fmtBytes(naive), target: '', pass: null })
    const avail = mailqueueAvailable()
    if (!avail.api || !avail.worker) {
      done(`baseline ${fmtBytes(naive)}; mailqueue skipped (API or worker missing)`)
      notes.push('memory: mailqueue API or worker missing, not measured')
      ctx.progress.step('memory: peak RSS under load')('skipped')
      return
    }

    await flushRedis(ctx.stack)
    const sim = new SimClient(ctx.stack.simUrl)
    const services: Service[] = []
    try {
      const api = await startMailqueueApi(ctx.stack)
      services.push(api.svc)
      const headers = bearer(ctx.stack.clientKey)
      await preflight(api.url, '/v1/messages', headers, message(0, TEXT_1KB))
      const mq = await bytesPerMessage(ctx.stack, n, async () => { await enqueueViaApi(ctx.stack, api.url, n, TEXT_1KB) })
      figures.mailqueueRedisBytesPerMessage = mq
      done(`mailqueue ${fmtBytes(mq)}, baseline ${fmtBytes(naive)}`)
      rows.push({ scenario: 'memory', subject: 'mailqueue: Redis per 1 KB message', result: `${fmtBytes(mq)} (${(mq / naive).toFixed(2)}× baseline)`, target: '≤ 3 KB', pass: mq <= KB3 })

      // Peak RSS: the worker drains the queue while the API takes single-ingest load.
      done = ctx.progress.step('memory: peak RSS of API and worker under load')
      await sim.reset()
      const base = (await sim.stats()).received
      services.push(await startMailqueueWorker(ctx.stack))
      await runCannon({ url: api.url, path: '/v1/messages', headers, body: JSON.stringify(message(0, TEXT_1KB)), connections: 50, duration: ctx.secs(5, 2) })
      await sim.waitForReceived(base + n, 60_000).catch(() => { notes.push('memory: the worker had not drained the 1 KB messages within 60 s') })
    } finally {
      await Promise.all(services.map(async (s) => await s.stop()))
    }
    const apiPeak = peakRssByName.get('mailqueue-api') ?? NaN
    const workerPeak = peakRssByName.get('mailqueue-worker') ?? NaN
    figures.peakRssBytes = Object.fromEntries(peakRssByName)
    figures.peakRssByStep = peakRssLog
    done(`API ${fmtBytes(apiPeak)}, worker ${fmtBytes(workerPeak)} (highest of this run)`)
    for (const [name, peak] of [['mailqueue-api', apiPeak], ['mailqueue-worker', workerPeak]] as const) {
      rows.push({ scenario: 'memory', subject: `${name} peak RSS (whole run)`, result: fmtBytes(peak), target: '≤ 200 MB', pass: peak <= RSS_LIMIT })
    }
    for (const name of ['baseline-naive-api', 'baseline-naive-worker'] as const) {
      const peak = peakRssByName.get(name)
      if (peak !== undefined) rows.push({ scenario: 'memory', subject: `${name} peak RSS (whole run)`, result: fmtBytes(peak), target: '', pass: null })
    }
  }
}
