/**
 * `npm run bench [-- scenario …]`: mailqueue against the naive baselines, as black boxes, in one run.
 * Brings its own redis-server and Mailgun simulator; prints a table and writes bench/results.json.
 * BENCH_QUICK=1 shortens every duration for a smoke run (its figures are not comparable).
 */
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { killAllSync, killedHard, stopAll } from './processes.js'
import { createProgress, machineInfo, renderTable, writeReport, type Report } from './report.js'
import type { Context, Row, Scenario, ScenarioResult } from './scenario.js'
import { ingest } from './scenarios/ingest.js'
import { batchIngest } from './scenarios/batch.js'
import { endToEnd } from './scenarios/drain.js'
import { latency } from './scenarios/latency.js'
import { memory } from './scenarios/memory.js'
import { dates } from './scenarios/dates.js'
import { large } from './scenarios/large.js'
import { scale } from './scenarios/scale.js'
import { startStack, stopStack, type Stack } from './stack.js'
import { startInterferenceMeter, type Interference } from './interference.js'

// large runs last: its processes' peak RSS must not count in memory's whole-run figures.
const ALL: Scenario[] = [ingest, batchIngest, endToEnd, latency, memory, dates, scale, large]
const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url))

function pickScenarios (args: string[]): Scenario[] {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: npm run bench [-- ${ALL.map((s) => s.name).join(' ')}]\n  BENCH_QUICK=1 for a short smoke run\n`)
    process.exit(0)
  }
  if (args.length === 0) return ALL
  const unknown = args.filter((a) => !ALL.some((s) => s.name === a))
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; known: ${ALL.map((s) => s.name).join(', ')}\n`)
    process.exit(64)
  }
  return ALL.filter((s) => args.includes(s.name))
}

async function main (): Promise<number> {
  const selected = pickScenarios(process.argv.slice(2))
  const quick = process.env.BENCH_QUICK === '1'
  const progress = createProgress(1 + selected.reduce((n, s) => n + s.steps, 0))
  const t0 = Date.now()
  const loadBefore = loadavg()[0] ?? NaN
  const rows: Row[] = []
  const notes: string[] = []
  const errors: Report['errors'] = []
  const figures: Record<string, unknown> = {}
  if (quick) notes.push('BENCH_QUICK=1: shortened durations and counts; figures are for smoke testing only')

  let stack: Stack | undefined
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: stopping every process the benchmark started\n`)
    void stopAll().then(async () => { if (stack) await stopStack(stack, true) }).finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.once('exit', () => { killAllSync(); stack?.redis.process.kill('SIGKILL') })

  const done = progress.step('start redis-server and the Mailgun simulator (fast mode)')
  stack = await startStack()
  done(`redis ${stack.redis.url}, simulator ${stack.simUrl}`)
  const redisVersion = /^redis_version:(\S+)/m.exec(await stack.admin.info('server'))?.[1] ?? 'unknown'
  const interference = startInterferenceMeter(stack.redis.process.pid)
  let other: Interference | undefined
  const ctx: Context = {
    stack,
    quick,
    progress,
    secs: (full, short) => quick ? short : full,
    count: (full, short) => quick ? short : full
  }
  try {
    for (const scenario of selected) {
      const out: ScenarioResult = { figures: {}, rows: [], notes: [] }
      try {
        await scenario.run(ctx, out)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        const first = message.split('\n')[0] ?? ''
        errors.push({ scenario: scenario.name, error: message })
        out.figures.error = message
        out.rows.push({ scenario: scenario.title, subject: 'ERROR', result: first.slice(0, 160), target: '', pass: false })
        progress.note(`${scenario.title} failed: ${first}`)
        await stopAll([stack.sim])
      }
      figures[scenario.name] = out.figures
      rows.push(...out.rows)
      notes.push(...out.notes)
    }
  } finally {
    await stopAll([stack.sim])
    other = interference()
    await stopStack(stack, errors.length > 0)
  }

  if (other.otherShare > 0.1) notes.push(`other work used ${(100 * other.otherShare).toFixed(0)}% of the machine during the run: absolute figures are low, compare ratios and CPU per message`)
  for (const k of killedHard) notes.push(`${k.name} did not exit within ${k.graceMs / 1000} s of SIGTERM (step "${k.step}"): SIGKILLed`)
  rows.sort((a, b) => Number(a.scenario === 'cost per message') - Number(b.scenario === 'cost per message'))
  const report: Report = {
    machine: machineInfo(redisVersion, loadBefore),
    interference: other,
    quick,
    scenarios: selected.map((s) => s.name),
    durationSec: (Date.now() - t0) / 1000,
    figures,
    rows,
    notes,
    errors,
    passed: errors.length === 0 && rows.every((r) => r.pass !== false)
  }
  writeReport(RESULTS, report)
  const m = report.machine
  process.stdout.write(`\nmailqueue benchmark — ${m.date}, ${m.cpuModel} × ${m.cores}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, node ${m.node}, redis ${m.redis}, load ${m.loadAverageBefore.toFixed(2)} → ${m.loadAverageAfter.toFixed(2)}${quick ? ' (BENCH_QUICK)' : ''}\n\n`)
  process.stdout.write(renderTable(rows) + '\n\n')
  process.stdout.write(`other work on the machine during the run: ${other.otherSec.toFixed(1)} core-seconds, ${(100 * other.otherShare).toFixed(0)}% of its ${other.cores} cores (the benchmark's own processes: ${other.benchSec.toFixed(0)} core-seconds)\n`)
  for (const n of notes) process.stdout.write(`note: ${n}\n`)
  for (const e of errors) process.stdout.write(`error in ${e.scenario}: ${e.error}\n`)
  if (errors.length > 0) process.stdout.write(`logs of every process kept in ${stack.logDir}\n`)
  process.stdout.write(`wrote ${RESULTS} in ${report.durationSec.toFixed(0)} s\n`)
  return errors.length > 0 ? 1 : report.passed ? 0 : 2
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  void stopAll().finally(() => process.exit(1))
})
