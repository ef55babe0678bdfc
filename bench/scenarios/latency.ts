import { bearer, message } from '../fixtures.js'
import { JsonClient, paced } from '../load.js'
import { CostMeter, describeCost, snapshot, type Cost } from '../cost.js'
import { normalizeMessageId, SimClient } from '../sim-client.js'
import { fmtInt, fmtMs, percentile, type Context, type Scenario, type ScenarioResult } from '../scenario.js'
import { flushRedis, mailqueueAvailable, startMailqueueApi, startMailqueueWorker, startNaiveApi, startNaiveWorker, type HttpService } from '../stack.js'
import type { Service } from '../processes.js'

const RATE = 1000

export interface LatencyFigure {
  targetRate: number
  seconds: number
  achievedRate: number
  sent: number
  rejected: number
  failed: number
  matched: number
  missing: number
  drained: boolean
  acceptToSentP50Ms: number
  acceptToSentP99Ms: number
  acceptToSentMaxMs: number
  ingestP50Ms: number
  ingestP99Ms: number
  /** Redis commands, Redis, API and worker CPU per message. */
  cost: Cost
  /** Per second of the run, so a slow start and a slow steady state can be told apart. */
  perSecond: Array<{ second: number, count: number, p50Ms: number, p99Ms: number }>
}

/** Sends `count` messages and waits until the simulator has them: the worker is then up and warm. */
async function warmUp (client: JsonClient, sim: SimClient, count: number): Promise<void> {
  await sim.reset()
  const base = (await sim.stats()).received
  await paced(RATE, count / RATE, async (i) => {
    const answer = await client.post('/v1/messages', message(i))
    if (answer.status !== 202) throw new Error(`warm-up POST answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`)
  })
  await sim.waitForReceived(base + count, 60_000)
}

/**
 * API and worker up; a steady open-loop RATE for `seconds`; each 202's messageId and arrival time
 * kept, then matched with the simulator's arrival (`at`) of the same messageId.
 */
async function measure (ctx: Context, startApi: () => Promise<HttpService>, startWorker: () => Promise<Service>, seconds: number): Promise<LatencyFigure> {
  await flushRedis(ctx.stack)
  const sim = new SimClient(ctx.stack.simUrl)
  const services: Service[] = []
  try {
    const api = await startApi()
    services.push(api.svc)
    services.push(await startWorker())
    const client = new JsonClient(api.url, bearer(ctx.stack.clientKey), 50)
    await warmUp(client, sim, Math.round(ctx.secs(2, 0.5) * RATE))
    await sim.reset()
    const base = (await sim.stats()).received

    const acceptedAt = new Map<string, { at: number, second: number }>()
    const ingestMs: number[] = []
    let rejected = 0
    let failed = 0
    const before = await snapshot(ctx.stack.admin, services)
    const run = await paced(RATE, seconds, async (i) => {
      const t0 = performance.now()
      try {
        const answer = await client.post('/v1/messages', message(i))
        const now = Date.now()
        ingestMs.push(performance.now() - t0)
        const id = (answer.body as { messageId?: unknown }).messageId
        if (answer.status === 202 && typeof id === 'string') acceptedAt.set(normalizeMessageId(id), { at: now, second: Math.floor(i / RATE) })
        else rejected++
      } catch {
        failed++
      }
    })
    let drained = true
    try {
      await sim.waitForReceived(base + acceptedAt.size, 30_000)
    } catch {
      drained = false
    }
    const meter = new CostMeter()
    meter.add(before, await snapshot(ctx.stack.admin, services), run.started)
    await client.close()
    const arrivals = await sim.received()

    const latencies: number[] = []
    const bySecond: number[][] = []
    for (const r of arrivals) {
      const accepted = acceptedAt.get(r.messageId)
      if (accepted === undefined) continue
      latencies.push(r.at - accepted.at)
      ;(bySecond[accepted.second] ??= []).push(r.at - accepted.at)
      acceptedAt.delete(r.messageId)
    }
    latencies.sort((a, b) => a - b)
    ingestMs.sort((a, b) => a - b)
    return {
      targetRate: RATE,
      seconds,
      achievedRate: run.started / (run.elapsedMs / 1000),
      sent: run.started,
      rejected,
      failed,
      matched: latencies.length,
      missing: acceptedAt.size,
      drained,
      acceptToSentP50Ms: percentile(latencies, 50),
      acceptToSentP99Ms: percentile(latencies, 99),
      acceptToSentMaxMs: latencies[latencies.length - 1] ?? NaN,
      ingestP50Ms: percentile(ingestMs, 50),
      ingestP99Ms: percentile(ingestMs, 99),
      cost: meter.result(),
      perSecond: bySecond.map((l, second) => {
        l.sort((a, b) => a - b)
        return { second, count: l.length, p50Ms: percentile(l, 50), p99Ms: percentile(l, 99) }
      })
    }
  } finally {
    await Promise.all(services.map(async (s) => await s.stop()))
  }
}

function summary (f: LatencyFigure): string {
  return `p50 ${fmtMs(f.acceptToSentP50Ms)}, p99 ${fmtMs(f.acceptToSentP99Ms)} (${fmtInt(f.achievedRate)} msg/s offered, ${fmtInt(f.matched)} matched, ${f.missing} missing, ${f.rejected + f.failed} refused; ingest p99 ${fmtMs(f.ingestP99Ms)})`
}

export const latency: Scenario = {
  name: 'latency',
  title: 'accept→sent latency',
  steps: 2,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const seconds = ctx.secs(10, 3)
    Object.assign(out.figures, { rate: RATE, seconds })
    let done = ctx.progress.step(`accept→sent latency, naive pipeline, ${fmtInt(RATE)} msg/s for ${seconds} s`)
    const naive = await measure(ctx, async () => await startNaiveApi(ctx.stack), async () => await startNaiveWorker(ctx.stack), seconds)
    out.figures.naive = naive
    done(summary(naive))
    out.rows.push({ scenario: 'accept→sent latency', subject: `(b) naive route + worker, ${fmtInt(RATE)} msg/s`, result: summary(naive), target: '', pass: null })

    done = ctx.progress.step(`accept→sent latency, mailqueue, ${fmtInt(RATE)} msg/s for ${seconds} s`)
    const avail = mailqueueAvailable()
    if (!avail.api || !avail.worker) {
      done('skipped: mailqueue API or worker missing')
      out.notes.push('latency: mailqueue API or worker missing, not measured')
      return
    }
    const mq = await measure(ctx, async () => await startMailqueueApi(ctx.stack), async () => await startMailqueueWorker(ctx.stack), seconds)
    out.figures.mailqueue = mq
    done(summary(mq))
    out.rows.push(
      { scenario: 'cost per message', subject: `latency (ingest + send): naive`, result: describeCost(naive.cost), target: '', pass: null },
      { scenario: 'cost per message', subject: `latency (ingest + send): mailqueue`, result: describeCost(mq.cost), target: '', pass: null })
    out.rows.push({
      scenario: 'accept→sent latency',
      subject: `mailqueue API + worker, ${fmtInt(RATE)} msg/s`,
      result: summary(mq),
      target: 'p99 ≤ 50 ms, none missing',
      pass: mq.acceptToSentP99Ms <= 50 && mq.missing === 0 && mq.rejected + mq.failed === 0 && mq.matched > 0
    })
  }
}
