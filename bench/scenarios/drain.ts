import { enqueueNaive, enqueueViaApi } from '../enqueue.js'
import { SimClient } from '../sim-client.js'
import { fmtInt, type Context, type Scenario, type ScenarioResult } from '../scenario.js'
import { flushRedis, mailqueueAvailable, startMailqueueApi, startMailqueueWorker, startNaiveWorker, type Stack } from '../stack.js'
import type { Service } from '../processes.js'

export interface DrainFigure {
  messages: number
  received: number
  uniqueMessageIds: number
  /** Messages per second between the first and the last arrival at the simulator (steady state). */
  messagesPerSec: number
  /** Messages per second from spawning the worker to the last arrival (includes start-up). */
  wallMessagesPerSec: number
  firstToLastMs: number
  spawnToDoneMs: number
  timedOut: boolean
}

/**
 * Starts a worker on a full queue and times it until the simulator has every message.
 * The worker is stopped before returning (its peak RSS is recorded by the process registry).
 */
export async function drain (stack: Stack, n: number, timeoutMs: number, start: () => Promise<Service>): Promise<DrainFigure> {
  const sim = new SimClient(stack.simUrl)
  await sim.reset()
  const base = (await sim.stats()).received
  const t0 = Date.now()
  const worker = await start()
  let timedOut = false
  let tDone = Date.now()
  try {
    tDone = await sim.waitForReceived(base + n, timeoutMs)
  } catch {
    timedOut = true
    tDone = Date.now()
  } finally {
    await worker.stop()
  }
  const rows = await sim.received()
  const ats = rows.map((r) => r.at).filter(Number.isFinite).sort((a, b) => a - b)
  const first = ats[0] ?? t0
  const last = ats[ats.length - 1] ?? tDone
  const firstToLastMs = Math.max(1, last - first)
  return {
    messages: n,
    received: rows.length,
    uniqueMessageIds: new Set(rows.map((r) => r.messageId)).size,
    messagesPerSec: (rows.length - 1) / (firstToLastMs / 1000),
    wallMessagesPerSec: rows.length / ((tDone - t0) / 1000),
    firstToLastMs,
    spawnToDoneMs: tDone - t0,
    timedOut
  }
}

function summary (f: DrainFigure): string {
  const lost = f.received < f.messages ? `, only ${fmtInt(f.received)} of ${fmtInt(f.messages)} arrived` : ''
  return `${fmtInt(f.messagesPerSec)} msg/s (${fmtInt(f.wallMessagesPerSec)} incl. start-up, ${fmtInt(f.messages)} msgs${lost})`
}

export const endToEnd: Scenario = {
  name: 'drain',
  title: 'end-to-end drain',
  steps: 2,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const n = ctx.count(20_000, 2_000)
    const timeoutMs = ctx.secs(180, 60) * 1000
    out.figures.messages = n

    let done = ctx.progress.step(`end-to-end drain baseline worker (${fmtInt(n)} msgs)`)
    await flushRedis(ctx.stack)
    await enqueueNaive(ctx.stack, n)
    const naive = await drain(ctx.stack, n, timeoutMs, async () => await startNaiveWorker(ctx.stack))
    out.figures.naive = naive
    done(summary(naive))
    out.rows.push({ scenario: 'end-to-end drain', subject: '(b) naive BullMQ worker + undici', result: summary(naive), target: '', pass: null })

    done = ctx.progress.step(`end-to-end drain mailqueue worker (${fmtInt(n)} msgs)`)
    const avail = mailqueueAvailable()
    if (!avail.api || !avail.worker) {
      done('skipped: mailqueue API or worker missing')
      out.notes.push('end-to-end drain: mailqueue API or worker missing, not measured')
      return
    }
    await flushRedis(ctx.stack)
    const api = await startMailqueueApi(ctx.stack)
    try {
      await enqueueViaApi(ctx.stack, api.url, n)
    } finally {
      await api.svc.stop()
    }
    const mq = await drain(ctx.stack, n, timeoutMs, async () => await startMailqueueWorker(ctx.stack))
    out.figures.mailqueue = mq
    done(summary(mq))
    const ratio = mq.messagesPerSec / naive.messagesPerSec
    out.figures.ratioToNaive = ratio
    out.rows.push({
      scenario: 'end-to-end drain',
      subject: 'mailqueue worker',
      result: `${summary(mq)}; ${ratio.toFixed(2)}× baseline`,
      target: '≥ 0.8× baseline worker, all delivered',
      pass: ratio >= 0.8 && mq.received >= n && !mq.timedOut
    })
    if (mq.uniqueMessageIds < mq.received) out.notes.push(`end-to-end drain: ${mq.received - mq.uniqueMessageIds} duplicate deliveries (at-least-once)`)
  }
}
