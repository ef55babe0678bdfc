/**
 * Parses per second of our date parser against `Date.parse` on the same strings in the same run
 * (issue 4 target: ≥ 1.0× overall). Each form gets a pool of distinct strings (varied dates, times
 * and zones) so neither side can constant-fold; every result is consumed into a checksum. Both
 * sides are warmed up, then measured in alternating rounds; each side keeps its best round.
 * `npm run bench` calls `benchDates`; `node --import tsx bench/dates.ts` prints a table.
 */
import { fileURLToPath } from 'node:url'
import { formatRfc2822, parseInstant, parseRfc2822, toIso } from '../shared/dates/index.js'

export interface DatesFormResult { form: string, sample: string, oursPerSec: number, dateParsePerSec: number, ratio: number }
export interface DatesBenchResult {
  forms: DatesFormResult[]
  overall: { oursPerSec: number, dateParsePerSec: number, ratio: number }
}

const POOL = 4096
const ROUNDS = 5
const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** Deterministic instants spread over 2000–2037, whole seconds. */
function instants (): number[] {
  let x = 0x9e3779b9
  return Array.from({ length: POOL }, () => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0
    return Date.UTC(2000, 0, 1) + (x % 1_200_000_000) * 1000
  })
}

function two (n: number): string { return n < 10 ? '0' + String(n) : String(n) }

/** `zoneless`: Date.parse reads the text as local time, so the two only agree when TZ is UTC. */
interface Form { form: string, parse: (s: string) => number, strings: string[], zoneless?: boolean }

function forms (): Form[] {
  const ts = instants()
  const ours = (s: string): number => { const r = parseRfc2822(s); return r.ok ? r.instant : -1 }
  const oursInstant = (s: string): number => { const r = parseInstant(s); return r.ok ? r.instant : -1 }
  return [
    { form: 'Mailgun RFC 2822 (+0000)', parse: ours, strings: ts.map((t) => formatRfc2822(t)) },
    { form: 'IMF-fixdate (GMT)', parse: ours, strings: ts.map((t) => formatRfc2822(t).replace('+0000', 'GMT')) },
    {
      form: 'no weekday, no seconds (-0500)',
      parse: ours,
      strings: ts.map((t) => { const d = new Date(t - 300 * 60_000); return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]!} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} -0500` })
    },
    { form: 'EST zone', parse: ours, strings: ts.map((t) => formatRfc2822(t, -300).replace('-0500', 'EST')) },
    {
      form: 'asctime (HTTP)',
      parse: ours,
      zoneless: true,
      strings: ts.map((t) => { const d = new Date(t); return `${DAY_NAMES[d.getUTCDay()]!} ${MONTHS[d.getUTCMonth()]!} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}` })
    },
    { form: 'ISO 8601 via parseInstant', parse: oursInstant, strings: ts.map((t) => toIso(t + 123)) }
  ]
}

/** Runs `parse` over the pool `iterations` times in total; returns [seconds, checksum]. */
function run (parse: (s: string) => number, strings: string[], iterations: number): [number, number] {
  let sum = 0
  const mask = strings.length - 1
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) sum += parse(strings[i & mask]!)
  return [Number(process.hrtime.bigint() - start) / 1e9, sum]
}

const dateParse = (s: string): number => Date.parse(s)

export function benchDates (opts: { iterations?: number } = {}): DatesBenchResult {
  const iterations = Math.max(POOL, opts.iterations ?? 400_000)
  const results: DatesFormResult[] = []
  let oursTime = 0
  let theirsTime = 0
  let total = 0
  for (const f of forms()) {
    // the two parsers must agree on every string, or the comparison means nothing
    for (const s of f.zoneless === true ? [] : f.strings) {
      if (f.parse(s) !== Date.parse(s)) throw new Error(`bench/dates: parsers disagree on ${JSON.stringify(s)}`)
    }
    run(f.parse, f.strings, Math.min(iterations, 100_000))
    run(dateParse, f.strings, Math.min(iterations, 100_000))
    let bestOurs = Infinity
    let bestTheirs = Infinity
    for (let r = 0; r < ROUNDS; r++) {
      const [a, sa] = run(f.parse, f.strings, iterations)
      const [b, sb] = run(dateParse, f.strings, iterations)
      if (f.zoneless !== true && sa !== sb) throw new Error(`bench/dates: checksums differ for ${f.form}`)
      bestOurs = Math.min(bestOurs, a)
      bestTheirs = Math.min(bestTheirs, b)
    }
    oursTime += bestOurs
    theirsTime += bestTheirs
    total += iterations
    const oursPerSec = iterations / bestOurs
    const dateParsePerSec = iterations / bestTheirs
    results.push({ form: f.form, sample: f.strings[0]!, oursPerSec, dateParsePerSec, ratio: oursPerSec / dateParsePerSec })
  }
  const oursPerSec = total / oursTime
  const dateParsePerSec = total / theirsTime
  return { forms: results, overall: { oursPerSec, dateParsePerSec, ratio: oursPerSec / dateParsePerSec } }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const iterations = Number(process.argv[2] ?? '') || undefined
  const r = benchDates(iterations === undefined ? {} : { iterations })
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(12)
  const rows = [...r.forms, { form: 'overall', sample: '', ...r.overall }]
  process.stdout.write(`${'form'.padEnd(32)}${'ours/s'.padStart(12)}${'Date.parse/s'.padStart(14)}  ratio  sample\n`)
  for (const f of rows) {
    process.stdout.write(`${f.form.padEnd(32)}${fmt(f.oursPerSec)}${fmt(f.dateParsePerSec).padStart(14)}  ${f.ratio.toFixed(2).padStart(5)}  ${f.sample}\n`)
  }
}
