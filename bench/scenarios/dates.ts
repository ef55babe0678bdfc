import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fmtInt, type Context, type Scenario, type ScenarioResult } from '../scenario.js'

/** What `bench/dates.ts` (written separately) exports. */
interface DatesBench {
  benchDates(opts?: { iterations?: number }): {
    forms: Array<{ form: string, sample: string, oursPerSec: number, dateParsePerSec: number, ratio: number }>
    overall: { oursPerSec: number, dateParsePerSec: number, ratio: number }
  }
}

const DATES_URL = new URL('../dates.js', import.meta.url)

export const dates: Scenario = {
  name: 'dates',
  title: 'dates',
  steps: 1,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const done = ctx.progress.step('dates: RFC 2822 parses/s vs Date.parse')
    if (!existsSync(fileURLToPath(DATES_URL).replace(/\.js$/, '.ts'))) {
      done('skipped: bench/dates.ts missing')
      out.notes.push('dates: bench/dates.ts missing, not measured')
      return
    }
    const mod = await import(DATES_URL.href) as DatesBench
    const r = mod.benchDates(ctx.quick ? { iterations: 20_000 } : {})
    const result = `${fmtInt(r.overall.oursPerSec)} parses/s vs Date.parse ${fmtInt(r.overall.dateParsePerSec)}/s (${r.overall.ratio.toFixed(2)}×)`
    done(result)
    out.rows.push({ scenario: 'dates', subject: 'RFC 2822 parser, all forms', result, target: '≥ 1.0× Date.parse (issue 4)', pass: r.overall.ratio >= 1 })
    for (const f of r.forms) {
      out.rows.push({ scenario: 'dates', subject: `  ${f.form}`, result: `${fmtInt(f.oursPerSec)}/s vs ${fmtInt(f.dateParsePerSec)}/s (${f.ratio.toFixed(2)}×)`, target: '', pass: null })
    }
    Object.assign(out.figures, r)
  }
}
