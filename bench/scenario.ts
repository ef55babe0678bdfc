import type { Stack } from './stack.js'

/** One line of the printed table. `pass` is null when the row has no target (baselines, info). */
export interface Row {
  scenario: string
  subject: string
  result: string
  target: string
  pass: boolean | null
}

export interface ScenarioResult {
  /** Every figure measured, for results.json. */
  figures: Record<string, unknown>
  rows: Row[]
  notes: string[]
}

export interface Progress {
  /** Announces a step; the returned function finishes its line with the figure. */
  step(label: string): (figure: string) => void
  /** An extra line that is not a step (e.g. a skip). */
  note(text: string): void
}

export interface Context {
  stack: Stack
  quick: boolean
  progress: Progress
  /** Seconds: full value, or the shortened one in BENCH_QUICK mode. */
  secs(full: number, quick: number): number
  /** Counts: same idea. */
  count(full: number, quick: number): number
}

export interface Scenario {
  /** CLI name: `npm run bench -- <name> …`. */
  name: string
  title: string
  steps: number
  /** Fills `out` as it goes, so whatever was measured survives a later failure. */
  run(ctx: Context, out: ScenarioResult): Promise<void>
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US')
export const fmtMs = (n: number): string => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`
export const fmtBytes = (n: number): string => n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${(n / 1024).toFixed(2)} KB`

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[idx] ?? NaN
}
