import { batch, bearer } from '../fixtures.js'
import { runCannon, type CannonResult } from '../load.js'
import { fmtInt, fmtMs, type Context, type Scenario, type ScenarioResult } from '../scenario.js'
import { flushRedis, mailqueueAvailable, startMailqueueApi, startNaiveApi } from '../stack.js'
import { preflight } from './ingest.js'

const BATCH = 100

interface BatchFigure extends CannonResult { messagesPerSec: number }

function summary (r: BatchFigure): string {
  return `${fmtInt(r.messagesPerSec)} msg/s (${fmtInt(r.okPerSec)} batches/s, p99 ${fmtMs(r.p99Ms)}, errors ${r.errors}, non-202 ${r.badStatus})`
}

export const batchIngest: Scenario = {
  name: 'batch',
  title: 'batch ingest',
  steps: 2,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const headers = bearer(ctx.stack.clientKey)
    const body = batch(BATCH)
    Object.assign(out.figures, { batchSize: BATCH, connections: 10 })
    for (const target of ['naive', 'mailqueue'] as const) {
      const done = ctx.progress.step(`batch ingest ${target}`)
      if (target === 'mailqueue' && !mailqueueAvailable().api) {
        done('skipped: services/api/server.ts missing')
        out.notes.push('batch ingest: mailqueue API missing, not measured')
        continue
      }
      await flushRedis(ctx.stack)
      const { svc, url } = target === 'naive' ? await startNaiveApi(ctx.stack) : await startMailqueueApi(ctx.stack)
      let fig: BatchFigure
      try {
        await preflight(url, '/v1/messages/batch', headers, body)
        const r = await runCannon({
          url,
          path: '/v1/messages/batch',
          headers,
          body: JSON.stringify(body),
          connections: 10,
          duration: ctx.secs(10, 3),
          warmup: ctx.secs(2, 1)
        })
        fig = { ...r, messagesPerSec: r.okPerSec * BATCH }
      } finally {
        await svc.stop()
      }
      out.figures[target] = fig
      done(summary(fig))
      out.rows.push(target === 'naive'
        ? { scenario: 'batch ingest', subject: '(b) naive route + queue.addBulk', result: summary(fig), target: '', pass: null }
        : {
            scenario: 'batch ingest',
            subject: 'mailqueue API',
            result: summary(fig),
            target: '≥ 40,000 msg/s, 0 errors',
            pass: fig.messagesPerSec >= 40_000 && fig.errors === 0 && fig.badStatus === 0
          })
    }
  }
}
