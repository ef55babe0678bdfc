import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

/** Repository root: every entry point is spawned from here, the way `npm run …` would. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url))

export function entryExists (entry: string): boolean {
  return existsSync(join(ROOT, entry))
}

export interface ServiceOptions {
  /** Label in progress lines, logs and the RSS table (e.g. `mailqueue-api`). */
  name: string
  /** Path of a built entry file from the repository root, run as `node [nodeArgs] <entry>`. */
  entry: string
  /** Node flags before the entry (mailqueue's: those of its package.json start script). */
  nodeArgs?: readonly string[]
  env: Record<string, string>
  /** Directory for `<name>.log` (stdout and stderr of the child). */
  logDir: string
  /** Resolves the service's readiness; it gets a handle and must throw on timeout. */
  ready?: (svc: Service) => Promise<void>
}

export interface Service {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  readonly logFile: string
  /** Resolves the first line of stdout or stderr that matches, or rejects on exit / timeout. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Peak resident set size so far (`VmHWM`), in bytes; null once the process is gone. */
  peakRss(): number | null
  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent: a second call gets the same promise. */
  stop(graceMs?: number): Promise<void>
}

/** Peak RSS of every service, by name, recorded when it stops (or on demand). */
export const peakRssByName = new Map<string, number>()

/** Every stopped service's peak RSS with the step it ran in, to tell which load caused a peak. */
export const peakRssLog: Array<{ step: string, name: string, bytes: number }> = []
let currentStep = ''

/** CPU seconds used by services that have stopped (read just before their SIGTERM). */
let stoppedCpuSec = 0
export function stoppedServicesCpuSeconds (): number { return stoppedCpuSec }

/**
 * Counts a process the benchmark started outside startService (the scale scenario's Redis
 * Cluster) as its own work, like a stopped service: call it just before stopping the process.
 */
export function countStoppedCpu (pid: number): void {
  stoppedCpuSec += processCpuSeconds(pid) ?? 0
}

/** CPU seconds (user + sys) a process has used so far; null when it is gone. */
export function processCpuSeconds (pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return null
  }
}
const CLK_TCK = 100

/** Services that had to be SIGKILLed because SIGTERM did not end them within the grace time. */
export const killedHard: Array<{ step: string, name: string, graceMs: number }> = []
export function setStepLabel (label: string): void { currentStep = label }

const live = new Set<Service>()

function alive (child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

export function readPeakRss (pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m?.[1] !== undefined ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

function notePeak (name: string, bytes: number | null): void {
  if (bytes === null) return
  peakRssByName.set(name, Math.max(bytes, peakRssByName.get(name) ?? 0))
}

/** Spawns `node <entry>` and waits for `ready` (if given); kills it if that fails. */
export async function startService (opts: ServiceOptions): Promise<Service> {
  // BENCH_CPU_PROF=<dir>: every service writes a V8 CPU profile there when it exits (see profile-summary.ts).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROF, opts.name)}`] : []
  const child = spawn(process.execPath, [...prof, ...(opts.nodeArgs ?? []), opts.entry], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  if (child.pid === undefined) throw new Error(`${opts.name}: spawn failed`)
  const logFile = join(opts.logDir, `${opts.name}.log`)
  const log: WriteStream = createWriteStream(logFile, { flags: 'a' })
  let tail = ''
  const watchers = new Set<(line: string) => void>()
  let partial = ''
  const onChunk = (chunk: Buffer): void => {
    log.write(chunk)
    const text = partial + chunk.toString()
    const lines = text.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      tail = (tail + line + '\n').slice(-2000)
      for (const w of watchers) w(line)
    }
  }
  child.stdout?.on('data', onChunk)
  child.stderr?.on('data', onChunk)
  const exited = new Promise<void>((resolve) => child.once('exit', () => { log.end(); resolve() }))

  let stopping: Promise<void> | undefined
  const svc: Service = {
    name: opts.name,
    pid: child.pid,
    child,
    logFile,
    async waitForLine (pattern, timeoutMs = 30_000) {
      return await new Promise((resolve, reject) => {
        const done = (fn: () => void): void => { clearTimeout(timer); watchers.delete(watch); child.off('exit', onExit); fn() }
        const watch = (line: string): void => {
          const m = pattern.exec(line)
          if (m) done(() => resolve(m))
        }
        const onExit = (code: number | null, signal: string | null): void => {
          done(() => reject(new Error(`${opts.name} exited (${code ?? signal}) before ready; see ${logFile}\n${tail}`)))
        }
        const timer = setTimeout(() => done(() => reject(new Error(`${opts.name}: not ready after ${timeoutMs} ms; see ${logFile}\n${tail}`))), timeoutMs)
        watchers.add(watch)
        child.once('exit', onExit)
        if (!alive(child)) onExit(child.exitCode, child.signalCode)
      })
    },
    peakRss () {
      const bytes = alive(child) ? readPeakRss(child.pid ?? -1) : null
      notePeak(opts.name, bytes)
      return bytes
    },
    async stop (graceMs = 5000) {
      stopping ??= (async () => {
        const peak = svc.peakRss()
        stoppedCpuSec += processCpuSeconds(svc.pid) ?? 0
        if (peak !== null) peakRssLog.push({ step: currentStep, name: opts.name, bytes: peak })
        if (alive(child)) {
          child.kill('SIGTERM')
          const timer = setTimeout(() => {
            if (!alive(child)) return
            killedHard.push({ step: currentStep, name: opts.name, graceMs })
            child.kill('SIGKILL')
          }, graceMs)
          await exited
          clearTimeout(timer)
        }
        live.delete(svc)
      })()
      return await stopping
    }
  }
  live.add(svc)
  if (opts.ready) {
    try {
      await opts.ready(svc)
    } catch (err) {
      await svc.stop(1000)
      throw err
    }
  }
  return svc
}

/** Polls `url` until it answers 200 (or the process exits / time runs out). */
export async function waitForHttp (svc: Service, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!alive(svc.child)) throw new Error(`${svc.name} exited (${svc.child.exitCode ?? svc.child.signalCode}) before ready; see ${svc.logFile}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch { /* not listening yet */ }
    await sleep(100)
  }
  throw new Error(`${svc.name}: ${url} not 200 after ${timeoutMs} ms; see ${svc.logFile}`)
}

/** Stops every service still running (but `keep`), in parallel; used after failures and on signals. */
export async function stopAll (keep: Service[] = []): Promise<void> {
  await Promise.allSettled([...live].filter((svc) => !keep.includes(svc)).map(async (svc) => await svc.stop()))
}

/** Pids of the services still running. */
export function livePids (): number[] {
  return [...live].filter((s) => alive(s.child)).map((s) => s.pid)
}

/** Last resort when the bench process itself exits: SIGKILL whatever is left, synchronously. */
export function killAllSync (): void {
  for (const svc of live) if (alive(svc.child)) svc.child.kill('SIGKILL')
}
