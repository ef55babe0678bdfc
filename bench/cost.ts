import type { Redis } from 'ioredis'
import { processCpuSeconds, type Service } from './processes.js'

/**
 * What one message costs, seen from outside: Redis command counts (`INFO commandstats`, which also
 * counts the commands Lua scripts call) and Redis CPU (`INFO cpu`), plus the CPU time of the service
 * processes (`/proc/<pid>/stat`). Taken around a stretch where only one subject is active and divided
 * by the messages it handled. CPU time per message hardly moves when other work competes for the
 * cores, unlike throughput, so it is the steadiest comparison on a busy machine.
 */
export interface Snapshot {
  calls: Map<string, number>
  redisCpuSec: number
  /** CPU seconds (user + sys) by service name. */
  processCpuSec: Map<string, number>
}

export interface Cost {
  messages: number
  /** Every command Redis executed, including those inside scripts, per message. */
  commandsPerMessage: number
  /** Script invocations (evalsha/eval/fcall) per message: each is one round trip. */
  scriptsPerMessage: number
  /** Redis CPU (user + sys), microseconds per message. */
  redisCpuUsPerMessage: number
  /** Commands per message, by name, largest first. */
  byCommand: Record<string, number>
  /** CPU microseconds per message by service process. */
  processCpuUsPerMessage: Record<string, number>
}

export async function snapshot (redis: Redis, services: Service[] = []): Promise<Snapshot> {
  const [stats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')])
  const calls = new Map<string, number>()
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1] ?? '', Number(m[2]))
  const num = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0)
  const processCpuSec = new Map<string, number>()
  for (const s of services) {
    const sec = processCpuSeconds(s.pid)
    if (sec !== null) processCpuSec.set(s.name, sec)
  }
  return { calls, redisCpuSec: num('used_cpu_user') + num('used_cpu_sys'), processCpuSec }
}

/** Accumulates the difference of snapshot pairs (several rounds of one subject). */
export class CostMeter {
  private readonly calls = new Map<string, number>()
  private readonly processCpu = new Map<string, number>()
  private redisCpuSec = 0
  private messages = 0

  add (before: Snapshot, after: Snapshot, messages: number): void {
    for (const [cmd, n] of after.calls) {
      if (cmd === 'info') continue // our own snapshots
      const d = n - (before.calls.get(cmd) ?? 0)
      if (d > 0) this.calls.set(cmd, (this.calls.get(cmd) ?? 0) + d)
    }
    for (const [name, sec] of after.processCpuSec) {
      this.processCpu.set(name, (this.processCpu.get(name) ?? 0) + sec - (before.processCpuSec.get(name) ?? 0))
    }
    this.redisCpuSec += after.redisCpuSec - before.redisCpuSec
    this.messages += messages
  }

  /** Runs `fn` between two snapshots and adds the difference; `messagesOf` tells what it handled. */
  async around<T> (redis: Redis, services: Service[], fn: () => Promise<T>, messagesOf: (result: T) => number): Promise<T> {
    const before = await snapshot(redis, services)
    const result = await fn()
    this.add(before, await snapshot(redis, services), messagesOf(result))
    return result
  }

  result (): Cost {
    const m = Math.max(1, this.messages)
    const total = [...this.calls.values()].reduce((a, b) => a + b, 0)
    const scripts = ['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall'].reduce((a, c) => a + (this.calls.get(c) ?? 0), 0)
    const byCommand = Object.fromEntries([...this.calls].sort((a, b) => b[1] - a[1]).map(([c, n]) => [c, Math.round(100 * n / m) / 100] as const).filter(([, n]) => n > 0))
    const processCpuUsPerMessage = Object.fromEntries([...this.processCpu].map(([name, sec]) => [name, Math.round(sec * 1e6 / m)]))
    return { messages: this.messages, commandsPerMessage: total / m, scriptsPerMessage: scripts / m, redisCpuUsPerMessage: this.redisCpuSec * 1e6 / m, byCommand, processCpuUsPerMessage }
  }
}

export function describeCost (c: Cost): string {
  const procs = Object.entries(c.processCpuUsPerMessage).map(([name, us]) => `${name.replace(/^(mailqueue|baseline)-/, '')} ${fmtUs(us)}`).join(', ')
  const top = Object.entries(c.byCommand).slice(0, 4).map(([cmd, n]) => `${cmd} ${n}`).join(', ')
  return `CPU/msg: ${procs ? `${procs}, ` : ''}redis ${fmtUs(c.redisCpuUsPerMessage)}; redis ${c.commandsPerMessage.toFixed(1)} cmds/msg (${c.scriptsPerMessage.toFixed(2)} scripts) [${top}]`
}

function fmtUs (us: number): string {
  return `${Math.round(us)} µs`
}
