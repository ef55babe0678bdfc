import { enqueueNaive, enqueueViaApi } from '../enqueue.js'
import { median } from '../load.js'
import { SimClient } from '../sim-client.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { CostMeter, describeCost, snapshot, type Cost, type Snapshot } from '../cost.js'
import { fmtInt, type Context, type Row, type Scenario, type ScenarioResult } from '../scenario.js'
import { flushRedis, mailqueueAvailable, startMailqueueApi, startMailqueueWorker, startNaiveWorker, type Stack } from '../stack.js'
import type { Redis } from 'ioredis'
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

/** The workers of one drain and where its Redis work is measured. */
export interface DrainWorkers {
  /** Starts the worker process(es); resolves once every one is up. */
  start: () => Promise<Service[]>
  /** The Redis servers the messages cost work on (every master of a cluster); the stack's by default. */
  redis?: readonly Redis[]
  /** Runs once every worker is up (the scale scenario resumes its paused queues here). */
  release?: () => Promise<void>
}

/**
 * Starts workers on a full queue and times them until the simulator has every message. The cost
 * (Redis and worker CPU) is taken from the first poll that sees arrivals to the last, so process
 * start-up is left out. The workers are stopped before returning (peak RSS is recorded then).
 */
export async function drain (stack: Stack, n: number, timeoutMs: number, workers: DrainWorkers, cost: CostMeter): Promise<DrainFigure> {
  const sim = new SimClient(stack.simUrl)
  await sim.reset()
  const base = (await sim.stats()).received
  const redis = workers.redis ?? [stack.admin]
  const t0 = Date.now()
  const started = await workers.start()
  let timedOut = true
  let tDone = Date.now()
  let firstSeen: { snap: Snapshot, count: number } | undefined
  // The simulator shares the cores too: its CPU is part of what a message costs the machine.
  const measured = [...started, stack.sim]
  try {
    await workers.release?.()
    const deadline = t0 + timeoutMs
    while (Date.now() < deadline) {
      const count = (await sim.stats()).received - base
      if (count > 0 && firstSeen === undefined) firstSeen = { snap: await snapshot(redis, measured), count }
      if (count >= n) {
        tDone = Date.now()
        timedOut = false
        if (firstSeen) cost.add(firstSeen.snap, await snapshot(redis, measured), count - firstSeen.count)
        break
      }
      await sleep(25)
    }
    if (timedOut) tDone = Date.now()
  } finally {
    await Promise.all(started.map(async (w) => await w.stop()))
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

export function summary (f: DrainFigure): string {
  const lost = f.received < f.messages ? `, only ${fmtInt(f.received)} of ${fmtInt(f.messages)} arrived` : ''
  return `${fmtInt(f.messagesPerSec)} msg/s (${fmtInt(f.wallMessagesPerSec)} incl. start-up${lost})`
}

const ROUNDS = 5

/** Median figure of several drains (by messagesPerSec). */
export function fold (rounds: DrainFigure[]): DrainFigure & { rounds: DrainFigure[] } {
  const first = rounds[0]
  if (!first) throw new Error('no drain rounds')
  return {
    ...first,
    received: Math.min(...rounds.map((r) => r.received)),
    uniqueMessageIds: Math.min(...rounds.map((r) => r.uniqueMessageIds)),
    messagesPerSec: median(rounds.map((r) => r.messagesPerSec)),
    wallMessagesPerSec: median(rounds.map((r) => r.wallMessagesPerSec)),
    firstToLastMs: median(rounds.map((r) => r.firstToLastMs)),
    spawnToDoneMs: median(rounds.map((r) => r.spawnToDoneMs)),
    timedOut: rounds.some((r) => r.timedOut),
    rounds
  }
}

export const endToEnd: Scenario = {
  name: 'drain',
  title: 'end-to-end drain',
  steps: ROUNDS + 1,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const n = ctx.count(20_000, 2_000)
    const rounds = ROUNDS
    const timeoutMs = ctx.secs(180, 60) * 1000
    const avail = mailqueueAvailable()
    const withMailqueue = avail.api && avail.worker
    if (!withMailqueue) out.notes.push('end-to-end drain: mailqueue API or worker missing, not measured')
    Object.assign(out.figures, { messages: n, rounds, fold: 'median of rounds' })
    const naive: DrainFigure[] = []
    const mq: DrainFigure[] = []
    const ratios: number[] = []
    const naiveCost = new CostMeter()
    const mqCost = new CostMeter()

    const drainNaive = async (count = n, cost = naiveCost): Promise<DrainFigure> => {
      await flushRedis(ctx.stack)
      await enqueueNaive(ctx.stack, count)
      return await drain(ctx.stack, count, timeoutMs, { start: async () => [await startNaiveWorker(ctx.stack)] }, cost)
    }
    const drainMailqueue = async (count = n, cost = mqCost): Promise<DrainFigure> => {
      await flushRedis(ctx.stack)
      const api = await startMailqueueApi(ctx.stack)
      try {
        await enqueueViaApi(ctx.stack, api.url, count)
      } finally {
        await api.svc.stop()
      }
      return await drain(ctx.stack, count, timeoutMs, { start: async () => [await startMailqueueWorker(ctx.stack)] }, cost)
    }
    // The first drain on a fresh Redis and simulator ran slowest, whoever it was: an untimed
    // small drain of each side first, so round 1 compares warm with warm.
    const warmUp = Math.round(n / 10)
    const warm = ctx.progress.step(`end-to-end drain warm-up (${fmtInt(warmUp)} msgs each, not counted)`)
    await drainNaive(warmUp, new CostMeter())
    if (withMailqueue) await drainMailqueue(warmUp, new CostMeter())
    warm('done')
    for (let r = 0; r < rounds; r++) {
      const done = ctx.progress.step(`end-to-end drain round ${r + 1}/${rounds} (${fmtInt(n)} msgs each)`)
      if (!withMailqueue) {
        const b = await drainNaive()
        naive.push(b)
        done(`baseline ${summary(b)}`)
        continue
      }
      // Who goes first alternates, so a drift of the machine during a round favours neither.
      const mailqueueFirst = r % 2 === 1
      const first = await (mailqueueFirst ? drainMailqueue() : drainNaive())
      const second = await (mailqueueFirst ? drainNaive() : drainMailqueue())
      const [b, m] = mailqueueFirst ? [second, first] : [first, second]
      naive.push(b)
      mq.push(m)
      ratios.push(m.messagesPerSec / b.messagesPerSec)
      done(`baseline ${fmtInt(b.messagesPerSec)} msg/s, mailqueue ${fmtInt(m.messagesPerSec)} msg/s (${(m.messagesPerSec / b.messagesPerSec).toFixed(2)}×)`)
    }
    const b = { ...fold(naive), cost: naiveCost.result() }
    out.figures.naive = b
    out.rows.push({ scenario: 'end-to-end drain', subject: '(b) naive BullMQ worker + undici', result: summary(b), target: '', pass: null })
    const costRow = (who: string, cost: Cost): Row => ({ scenario: 'cost per message', subject: `drain: ${who}`, result: describeCost(cost), target: '', pass: null })
    if (mq.length === 0) { out.rows.push(costRow('naive', b.cost)); return }
    const m = { ...fold(mq), cost: mqCost.result() }
    const ratio = median(ratios)
    Object.assign(out.figures, { mailqueue: m, ratioToNaive: ratio })
    out.rows.push({
      scenario: 'end-to-end drain',
      subject: 'mailqueue worker',
      result: `${summary(m)}; ${ratio.toFixed(2)}× baseline`,
      target: '≥ 0.8× baseline worker, all delivered',
      pass: ratio >= 0.8 && m.received >= n && !m.timedOut
    })
    out.rows.push(costRow('naive', b.cost), costRow('mailqueue', m.cost))
    const dupes = mq.reduce((a, r) => a + r.received - r.uniqueMessageIds, 0)
    if (dupes > 0) out.notes.push(`end-to-end drain: ${dupes} duplicate deliveries (at-least-once)`)
  }
}
