import { readFileSync } from 'node:fs'
import { livePids, processCpuSeconds, stoppedServicesCpuSeconds } from './processes.js'

/**
 * How much CPU work other than the benchmark's ran on the machine during the run: all busy CPU
 * time (/proc/stat) minus what the benchmark, its Redis and every service it started used.
 * Figures from a run where this is high are not comparable with a quiet run.
 */
export interface Interference {
  wallSec: number
  cores: number
  /** Busy core-seconds of the whole machine. */
  machineBusySec: number
  /** Core-seconds of the benchmark's own processes. */
  benchSec: number
  /** The rest, as core-seconds and as a share of the machine's capacity. */
  otherSec: number
  otherShare: number
}

const CLK_TCK = 100

function machineBusySeconds (): { busy: number, cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n')
  const all = (lines[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal …: busy = all but idle and iowait
  const busy = all.slice(0, 8).reduce((a, b, i) => (i === 3 || i === 4 ? a : a + b), 0)
  return { busy: busy / CLK_TCK, cores: lines.filter((l) => /^cpu\d+ /.test(l)).length }
}

export function startInterferenceMeter (redisPid: number | undefined): () => Interference {
  const t0 = Date.now()
  const m0 = machineBusySeconds()
  const own0 = process.cpuUsage()
  const stopped0 = stoppedServicesCpuSeconds()
  const redis0 = processCpuSeconds(redisPid ?? -1) ?? 0
  const live0 = livePids().reduce((a, pid) => a + (processCpuSeconds(pid) ?? 0), 0)
  return () => {
    const m1 = machineBusySeconds()
    const own = process.cpuUsage(own0)
    const live = livePids().reduce((a, pid) => a + (processCpuSeconds(pid) ?? 0), 0)
    const redis = (processCpuSeconds(redisPid ?? -1) ?? 0) - redis0
    const benchSec = (own.user + own.system) / 1e6 + stoppedServicesCpuSeconds() - stopped0 + live - live0 + redis
    const machineBusySec = m1.busy - m0.busy
    const wallSec = (Date.now() - t0) / 1000
    const otherSec = Math.max(0, machineBusySec - benchSec)
    return { wallSec, cores: m1.cores, machineBusySec, benchSec, otherSec, otherShare: otherSec / (wallSec * m1.cores) }
  }
}
