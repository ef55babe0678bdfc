import { bearer, message } from '../fixtures.js'
import { JsonClient, runCannon, type CannonResult } from '../load.js'
import { fmtInt, fmtMs, type Context, type Scenario, type ScenarioResult } from '../scenario.js'
import { flushRedis, mailqueueAvailable, startBareRoute, startMailqueueApi, startNaiveApi, type HttpService, type Stack } from '../stack.js'

type Target = 'bare' | 'naive' | 'mailqueue'

const SUBJECTS: Record<Target, string> = {
  bare: '(a) bare Fastify route, no Redis',
  naive: '(b) naive route + queue.add',
  mailqueue: 'mailqueue API'
}

const STARTERS: Record<Target, (stack: Stack) => Promise<HttpService>> = {
  bare: startBareRoute,
  naive: startNaiveApi,
  mailqueue: startMailqueueApi
}

/** One POST before the load, so a broken route fails in a second with its answer, not after 10 s. */
export async function preflight (url: string, path: string, headers: Record<string, string>, body: unknown, want = 202): Promise<void> {
  const client = new JsonClient(url, headers, 1)
  try {
    const answer = await client.post(path, body)
    if (answer.status !== want) throw new Error(`POST ${path} answered ${answer.status} (want ${want}): ${JSON.stringify(answer.body).slice(0, 300)}`)
  } finally {
    await client.close()
  }
}

function summary (r: CannonResult): string {
  return `${fmtInt(r.reqPerSec)} req/s, p50 ${fmtMs(r.p50Ms)}, p99 ${fmtMs(r.p99Ms)}, errors ${r.errors}, non-202 ${r.badStatus}`
}

export const ingest: Scenario = {
  name: 'ingest',
  title: 'single ingest',
  steps: 3,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const headers = bearer(ctx.stack.clientKey)
    const body = message()
    out.figures.connections = 50
    for (const target of ['bare', 'naive', 'mailqueue'] as const) {
      const done = ctx.progress.step(`single ingest ${target}`)
      if (target === 'mailqueue' && !mailqueueAvailable().api) {
        done('skipped: services/api/server.ts missing')
        out.notes.push('single ingest: mailqueue API missing, not measured')
        continue
      }
      await flushRedis(ctx.stack)
      const { svc, url } = await STARTERS[target](ctx.stack)
      let r: CannonResult
      try {
        await preflight(url, '/v1/messages', headers, body)
        r = await runCannon({
          url,
          path: '/v1/messages',
          headers,
          body: JSON.stringify(body),
          connections: 50,
          duration: ctx.secs(10, 3),
          warmup: ctx.secs(2, 1)
        })
      } finally {
        await svc.stop()
      }
      out.figures[target] = r
      done(summary(r))
      if (target !== 'mailqueue') {
        out.rows.push({ scenario: 'single ingest', subject: SUBJECTS[target], result: summary(r), target: '', pass: null })
        continue
      }
      const naive = out.figures.naive as CannonResult | undefined
      const ratio = naive ? r.reqPerSec / naive.reqPerSec : NaN
      out.figures.ratioToNaive = ratio
      out.rows.push({
        scenario: 'single ingest',
        subject: SUBJECTS.mailqueue,
        result: `${summary(r)}; ${ratio.toFixed(2)}× (b)`,
        target: '≥ 0.8× (b), p99 ≤ 15 ms, 0 errors',
        pass: ratio >= 0.8 && r.p99Ms <= 15 && r.errors === 0 && r.badStatus === 0
      })
    }
  }
}
