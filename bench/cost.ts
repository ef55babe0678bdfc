import type { Redis } from 'ioredis'
import { processCpuSeconds, type Service } from './processes.js'

/**
 * What one message costs, seen from outside: Redis command counts and times (`INFO commandstats`,
 * which also counts the commands Lua scripts call) and Redis CPU (`INFO cpu`), plus the CPU time of
 * the service processes (`/proc/<pid>/stat`). Taken around a stretch where only one subject is
 * active and divided by the messages it handled. CPU time per message hardly moves when other work
 * competes for the cores, unlike throughput, so it is the steadiest comparison on a busy machine.
 * A Redis Cluster is measured on each of its masters: summed, and the busiest one on its own.
 */
export interface Snapshot {
  calls: Map<string, number>
  /** Microseconds Redis spent in each command (a script's own entry includes its inner commands). */
  usec: Map<string, number>
  /** CPU seconds (user + sys) of each Redis server measured, in the order given. */
  redisCpuSec: number[]
  /** CPU seconds (user + sys) by service name. */
  processCpuSec: Map<string, number>
}

export interface Cost {
  messages: number
  /** Every command Redis executed, including those inside scripts, per message. */
  commandsPerMessage: number
  /** Script invocations (evalsha/eval/fcall) per message: each is one round trip. */
  scriptsPerMessage: number
  /** Redis CPU (user + sys), microseconds per message, summed over the servers. */
  redisCpuUsPerMessage: number
  /** The same for each server (the masters of a cluster), in the order measured. */
  redisCpuUsPerMessageByServer: number[]
  /** The busiest server's share of the Redis CPU (1 for a single Redis). */
  busiestServerShare: number
  /** Commands per message, by name, largest first. */
  byCommand: Record<string, number>
  /**
   * Microseconds per message Redis spent executing each command (`INFO commandstats` usec), largest
   * first. A script's entry (evalsha) includes the commands it called, which also have their own.
   */
  usByCommand: Record<string, number>
  /** CPU microseconds per message by service process (summed over processes of the same name). */
  processCpuUsPerMessage: Record<string, number>
}

const SCRIPT_COMMANDS = ['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall']

export async function snapshot (redis: Redis | readonly Redis[], services: Service[] = []): Promise<Snapshot> {
  const servers = Array.isArray(redis) ? redis as readonly Redis[] : [redis as Redis]
  const calls = new Map<string, number>()
  const usec = new Map<string, number>()
  const redisCpuSec: number[] = []
  for (const [stats, cpu] of await Promise.all(servers.map(async (r) => await Promise.all([r.info('commandstats'), r.info('cpu')])))) {
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      const cmd = m[1] ?? ''
      calls.set(cmd, (calls.get(cmd) ?? 0) + Number(m[2]))
      usec.set(cmd, (usec.get(cmd) ?? 0) + Number(m[3]))
    }
    const num = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0)
    redisCpuSec.push(num('used_cpu_user') + num('used_cpu_sys'))
  }
  const processCpuSec = new Map<string, number>()
  for (const s of services) {
    const sec = processCpuSeconds(s.pid)
    if (sec !== null) processCpuSec.set(s.name, (processCpuSec.get(s.name) ?? 0) + sec)
  }
  return { calls, usec, redisCpuSec, processCpuSec }
}

/** Accumulates the difference of snapshot pairs (several rounds of one subject). */
export class CostMeter {
  private readonly calls = new Map<string, number>()
  private readonly usec = new Map<string, number>()
  private readonly processCpu = new Map<string, number>()
  private redisCpuSec: number[] = []
  private messages = 0

  add (before: Snapshot, after: Snapshot, messages: number): void {
    const addDiff = (into: Map<string, number>, a: Map<string, number>, b: Map<string, number>): void => {
      for (const [key, n] of a) {
        if (key === 'info') continue // our own snapshots
        const d = n - (b.get(key) ?? 0)
        if (d > 0) into.set(key, (into.get(key) ?? 0) + d)
      }
    }
    addDiff(this.calls, after.calls, before.calls)
    addDiff(this.usec, after.usec, before.usec)
    for (const [name, sec] of after.processCpuSec) {
      this.processCpu.set(name, (this.processCpu.get(name) ?? 0) + sec - (before.processCpuSec.get(name) ?? 0))
    }
    this.redisCpuSec = after.redisCpuSec.map((sec, i) => (this.redisCpuSec[i] ?? 0) + sec - (before.redisCpuSec[i] ?? 0))
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
    const scripts = SCRIPT_COMMANDS.reduce((a, c) => a + (this.calls.get(c) ?? 0), 0)
    const perMessage = (counts: Map<string, number>): Record<string, number> =>
      Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([c, n]) => [c, Math.round(100 * n / m) / 100] as const).filter(([, n]) => n > 0))
    const redisSec = this.redisCpuSec.reduce((a, b) => a + b, 0)
    const processCpuUsPerMessage = Object.fromEntries([...this.processCpu].map(([name, sec]) => [name, Math.round(sec * 1e6 / m)]))
    return {
      messages: this.messages,
      commandsPerMessage: total / m,
      scriptsPerMessage: scripts / m,
      redisCpuUsPerMessage: redisSec * 1e6 / m,
      redisCpuUsPerMessageByServer: this.redisCpuSec.map((sec) => sec * 1e6 / m),
      busiestServerShare: redisSec > 0 ? Math.max(...this.redisCpuSec) / redisSec : 1,
      byCommand: perMessage(this.calls),
      usByCommand: perMessage(this.usec),
      processCpuUsPerMessage
    }
  }
}

export function describeCost (c: Cost): string {
  const procs = Object.entries(c.processCpuUsPerMessage).map(([name, us]) => `${name.replace(/^(mailqueue|baseline)-/, '')} ${fmtUs(us)}`).join(', ')
  const top = Object.entries(c.byCommand).slice(0, 4).map(([cmd, n]) => `${cmd} ${n}`).join(', ')
  const busiest = c.redisCpuUsPerMessageByServer.length > 1 ? ` (busiest master ${Math.round(100 * c.busiestServerShare)}%)` : ''
  return `CPU/msg: ${procs ? `${procs}, ` : ''}redis ${fmtUs(c.redisCpuUsPerMessage)}${busiest}; redis ${c.commandsPerMessage.toFixed(1)} cmds/msg (${c.scriptsPerMessage.toFixed(2)} scripts) [${top}]`
}

function fmtUs (us: number): string {
  return `${Math.round(us)} µs`
}
