import { bearer, message } from '../fixtures.js'
import { median, type CannonResult, type RoundsResult } from '../load.js'
import { describeCost } from '../cost.js'
import { interleaved, type Subject } from '../rounds.js'
import { fmtInt, fmtMs, type Context, type Scenario, type ScenarioResult } from '../scenario.js'
import { flushRedis, mailqueueAvailable, startBareRoute, startMailqueueApi, startNaiveApi } from '../stack.js'

const ROUNDS = 3
const LABELS: Record<string, string> = {
  bare: '(a) bare Fastify route, no Redis',
  naive: '(b) naive route + queue.add',
  mailqueue: 'mailqueue API'
}

function summary (r: CannonResult): string {
  return `${fmtInt(r.reqPerSec)} req/s, p50 ${fmtMs(r.p50Ms)}, p99 ${fmtMs(r.p99Ms)}, errors ${r.errors}, non-202 ${r.badStatus}`
}

/** mailqueue ÷ naive, per round (neighbours in time), then the median. */
export function roundRatio (mq: RoundsResult, naive: RoundsResult, f: (r: CannonResult) => number): number {
  return median(mq.rounds.map((r, i) => { const n = naive.rounds[i]; return n ? f(r) / f(n) : NaN }))
}

export const ingest: Scenario = {
  name: 'ingest',
  title: 'single ingest',
  steps: 1 + ROUNDS,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const subjects: Subject[] = [
      { key: 'bare', start: async () => await startBareRoute(ctx.stack) },
      { key: 'naive', start: async () => await startNaiveApi(ctx.stack) }
    ]
    if (mailqueueAvailable().api) subjects.push({ key: 'mailqueue', start: async () => await startMailqueueApi(ctx.stack) })
    else out.notes.push('single ingest: services/api/server.ts missing, mailqueue not measured')
    const spec = {
      path: '/v1/messages',
      headers: bearer(ctx.stack.clientKey),
      body: message(),
      connections: 50,
      seconds: ctx.secs(10, 3),
      rounds: ROUNDS,
      warmup: ctx.secs(2, 1)
    }
    Object.assign(out.figures, { connections: spec.connections, secondsPerSubject: spec.seconds, rounds: ROUNDS, fold: 'median of rounds' })
    await flushRedis(ctx.stack)
    const results = await interleaved(ctx, 'single ingest', subjects, spec,
      (figs) => [...figs].map(([k, r]) => `${k} ${fmtInt(r.reqPerSec)} req/s p99 ${fmtMs(r.p99Ms)}`).join(', '))
    const costRows = [...results].map(([key, r]) => ({ scenario: 'cost per message', subject: `single ingest: ${key}`, result: describeCost(r.cost), target: '', pass: null }))
    for (const [key, r] of results) {
      out.figures[key] = r
      if (key !== 'mailqueue') {
        out.rows.push({ scenario: 'single ingest', subject: LABELS[key] ?? key, result: summary(r), target: '', pass: null })
        continue
      }
      const naive = results.get('naive')
      const ratio = naive ? roundRatio(r, naive, (x) => x.reqPerSec) : NaN
      out.figures.ratioToNaive = ratio
      out.rows.push({
        scenario: 'single ingest',
        subject: LABELS.mailqueue ?? key,
        result: `${summary(r)}; ${ratio.toFixed(2)}× (b)`,
        target: '≥ 0.8× (b), p99 ≤ 15 ms, 0 errors',
        pass: ratio >= 0.8 && r.p99Ms <= 15 && r.errors === 0 && r.badStatus === 0
      })
    }
    out.rows.push(...costRows)
  }
}
