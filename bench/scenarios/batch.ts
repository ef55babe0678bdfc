import { batch, bearer } from '../fixtures.js'
import type { CannonResult, RoundsResult } from '../load.js'
import { describeCost } from '../cost.js'
import { interleaved, type Subject } from '../rounds.js'
import { fmtInt, fmtMs, type Context, type Scenario, type ScenarioResult } from '../scenario.js'
import { flushRedis, mailqueueAvailable, startMailqueueApi, startNaiveApi } from '../stack.js'
import { roundRatio } from './ingest.js'

const BATCH = 100
const ROUNDS = 3

const messagesPerSec = (r: CannonResult): number => r.okPerSec * BATCH

function summary (r: RoundsResult): string {
  return `${fmtInt(messagesPerSec(r))} msg/s (${fmtInt(r.okPerSec)} batches/s, p99 ${fmtMs(r.p99Ms)}, errors ${r.errors}, non-202 ${r.badStatus})`
}

export const batchIngest: Scenario = {
  name: 'batch',
  title: 'batch ingest',
  steps: 1 + ROUNDS,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const subjects: Subject[] = [{ key: 'naive', start: async () => await startNaiveApi(ctx.stack) }]
    if (mailqueueAvailable().api) subjects.push({ key: 'mailqueue', start: async () => await startMailqueueApi(ctx.stack) })
    else out.notes.push('batch ingest: services/api/server.ts missing, mailqueue not measured')
    const spec = {
      path: '/v1/messages/batch',
      headers: bearer(ctx.stack.clientKey),
      body: batch(BATCH),
      connections: 10,
      seconds: ctx.secs(10, 3),
      rounds: ROUNDS,
      warmup: ctx.secs(2, 1),
      messagesPerRequest: BATCH
    }
    Object.assign(out.figures, { batchSize: BATCH, connections: spec.connections, secondsPerSubject: spec.seconds, rounds: ROUNDS, fold: 'median of rounds' })
    await flushRedis(ctx.stack)
    const results = await interleaved(ctx, 'batch ingest', subjects, spec,
      (figs) => [...figs].map(([k, r]) => `${k} ${fmtInt(messagesPerSec(r))} msg/s`).join(', '))
    const costRows = [...results].map(([key, r]) => ({ scenario: 'cost per message', subject: `batch ingest: ${key}`, result: describeCost(r.cost), target: '', pass: null }))
    for (const [key, r] of results) {
      out.figures[key] = { ...r, messagesPerSec: messagesPerSec(r) }
      if (key === 'naive') {
        out.rows.push({ scenario: 'batch ingest', subject: '(b) naive route + queue.addBulk', result: summary(r), target: '', pass: null })
        continue
      }
      const naive = results.get('naive')
      const ratio = naive ? roundRatio(r, naive, messagesPerSec) : NaN
      out.figures.ratioToNaive = ratio
      out.rows.push({
        scenario: 'batch ingest',
        subject: 'mailqueue API',
        result: `${summary(r)}; ${ratio.toFixed(2)}× (b)`,
        target: '≥ 40,000 msg/s, 0 errors',
        pass: messagesPerSec(r) >= 40_000 && r.errors === 0 && r.badStatus === 0
      })
    }
    out.rows.push(...costRows)
  }
}
