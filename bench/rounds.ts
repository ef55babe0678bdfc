import { foldRounds, JsonClient, rotate, runCannon, type CannonResult, type RoundsResult } from './load.js'
import { CostMeter, type Cost } from './cost.js'
import type { Context } from './scenario.js'
import type { HttpService } from './stack.js'

/** One HTTP service under comparison. */
export interface Subject {
  key: string
  start: () => Promise<HttpService>
}

export interface LoadSpec {
  path: string
  headers: Record<string, string>
  body: unknown
  connections: number
  /** Seconds measured per subject, split evenly over the rounds. */
  seconds: number
  rounds: number
  /** Seconds of unmeasured load per subject before the first round. */
  warmup: number
  /** Messages per accepted request (batch size), for Redis cost per message. */
  messagesPerRequest?: number
}

export interface SubjectResult extends RoundsResult {
  /** Redis commands, Redis and service CPU per accepted message over the measured rounds. */
  cost: Cost
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

/**
 * Runs every subject's service at once (idle ones cost nothing) and loads them in alternating
 * rounds, rotating the order each round, so that other work on the machine hits all subjects
 * alike and ratios stay meaningful. `onRound` gets each round's figures for the progress line.
 */
export async function interleaved (
  ctx: Context,
  title: string,
  subjects: Subject[],
  spec: LoadSpec,
  describe: (figures: Map<string, CannonResult>) => string
): Promise<Map<string, SubjectResult>> {
  const running: HttpService[] = []
  try {
    const ready = ctx.progress.step(`${title}: start ${subjects.map((s) => s.key).join(', ')}, warm up ${spec.warmup} s each`)
    for (const s of subjects) running.push(await s.start())
    const load = async (url: string, duration: number): Promise<CannonResult> => await runCannon({
      url, path: spec.path, headers: spec.headers, body: JSON.stringify(spec.body), connections: spec.connections, duration
    })
    for (const svc of running) {
      await preflight(svc.url, spec.path, spec.headers, spec.body)
      if (spec.warmup > 0) await load(svc.url, spec.warmup)
    }
    ready('ready')
    const rounds = new Map<string, CannonResult[]>(subjects.map((s) => [s.key, []]))
    const meters = new Map(subjects.map((s) => [s.key, new CostMeter()]))
    const perRequest = spec.messagesPerRequest ?? 1
    const perRound = spec.seconds / spec.rounds
    for (let r = 0; r < spec.rounds; r++) {
      const done = ctx.progress.step(`${title} round ${r + 1}/${spec.rounds} (${perRound.toFixed(1)} s each)`)
      const figures = new Map<string, CannonResult>()
      for (const i of rotate(subjects.map((_, i) => i), r)) {
        const subject = subjects[i]
        const svc = running[i]
        if (!subject || !svc) continue
        const meter = meters.get(subject.key) ?? new CostMeter()
        const fig = await meter.around(ctx.stack.admin, [svc.svc], async () => await load(svc.url, perRound), (f) => f.ok * perRequest)
        figures.set(subject.key, fig)
        rounds.get(subject.key)?.push(fig)
      }
      done(describe(figures))
    }
    return new Map([...rounds].map(([key, rs]) => [key, { ...foldRounds(rs), cost: (meters.get(key) ?? new CostMeter()).result() }]))
  } finally {
    await Promise.all(running.map(async (s) => await s.svc.stop()))
  }
}
