import { writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import type { Interference } from './interference.js'
import { setStepLabel } from './processes.js'
import type { Progress, Row } from './scenario.js'

export interface Machine {
  cpuModel: string
  cores: number
  memoryBytes: number
  node: string
  platform: string
  kernel: string
  redis: string
  date: string
  /** 1-minute load average before the run and after it: other work on the machine skews figures. */
  loadAverageBefore: number
  loadAverageAfter: number
}

export function machineInfo (redisVersion: string, loadAverageBefore: number): Machine {
  const cpu = cpus()
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    redis: redisVersion,
    date: new Date().toISOString(),
    loadAverageBefore,
    loadAverageAfter: loadavg()[0] ?? NaN
  }
}

/** `[3/9] single ingest mailqueue … 12,345 req/s` on stderr, one line per step. */
export function createProgress (total: number, out: NodeJS.WriteStream = process.stderr): Progress {
  let n = 0
  const tty = out.isTTY === true
  let open = false
  return {
    step (label) {
      n++
      setStepLabel(label)
      const head = `[${n}/${total}] ${label} …`
      const t0 = Date.now()
      if (tty) { out.write(`${head} `); open = true }
      return (figure) => {
        const secs = `(${((Date.now() - t0) / 1000).toFixed(1)} s)`
        if (tty && open) out.write(`${figure} ${secs}\n`)
        else out.write(`${head} ${figure} ${secs}\n`)
        open = false
      }
    },
    note (text) {
      if (open) { out.write('\n'); open = false }
      out.write(`      ${text}\n`)
    }
  }
}

const mark = (pass: boolean | null): string => pass === null ? '' : pass ? 'PASS' : 'FAIL'

/** The table, as Markdown so it reads in a terminal and pastes into a README unchanged. */
export function renderTable (rows: Row[]): string {
  const head = ['scenario', 'subject', 'result', 'target', '']
  const cells = rows.map((r) => [r.scenario, r.subject, r.result, r.target, mark(r.pass)])
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)))
  const line = (c: string[]): string => `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n')
}

export interface Report {
  machine: Machine
  /** CPU used by other work on the machine during the run. */
  interference: Interference
  quick: boolean
  scenarios: string[]
  durationSec: number
  figures: Record<string, unknown>
  rows: Row[]
  notes: string[]
  errors: Array<{ scenario: string, error: string }>
  /** Every row with a target passed and no scenario failed. */
  passed: boolean
}

export function writeReport (file: string, report: Report): void {
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n')
}
