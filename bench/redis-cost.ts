import type { Redis } from 'ioredis'

/**
 * What Redis spent, seen from Redis itself: command counts (`INFO commandstats`, which also counts
 * the commands Lua scripts call) and CPU (`INFO cpu`). Taken around a stretch of load where only one
 * subject is active, divided by the messages it handled: the "round trips and work per message" view.
 */
export interface RedisSnapshot {
  calls: Map<string, number>
  cpuSec: number
}

export interface RedisCost {
  messages: number
  /** Every command Redis executed, including those inside scripts, per message. */
  commandsPerMessage: number
  /** Script invocations (evalsha/eval/fcall) per message: each is one round trip. */
  scriptsPerMessage: number
  /** Redis CPU (user + sys), microseconds per message. */
  cpuUsPerMessage: number
  /** Commands per message, by name, largest first. */
  byCommand: Record<string, number>
}

export async function redisSnapshot (redis: Redis): Promise<RedisSnapshot> {
  const [stats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')])
  const calls = new Map<string, number>()
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1] ?? '', Number(m[2]))
  const num = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0)
  return { calls, cpuSec: num('used_cpu_user') + num('used_cpu_sys') }
}

/** Accumulates the difference of snapshot pairs (several rounds of one subject). */
export class RedisCostMeter {
  private readonly calls = new Map<string, number>()
  private cpuSec = 0
  private messages = 0

  add (before: RedisSnapshot, after: RedisSnapshot, messages: number): void {
    for (const [cmd, n] of after.calls) {
      if (cmd === 'info') continue // our own snapshots
      const d = n - (before.calls.get(cmd) ?? 0)
      if (d > 0) this.calls.set(cmd, (this.calls.get(cmd) ?? 0) + d)
    }
    this.cpuSec += after.cpuSec - before.cpuSec
    this.messages += messages
  }

  /** Runs `fn` between two snapshots and adds the difference; `fn` resolves the messages it handled. */
  async around<T> (redis: Redis, fn: () => Promise<T>, messagesOf: (result: T) => number): Promise<T> {
    const before = await redisSnapshot(redis)
    const result = await fn()
    this.add(before, await redisSnapshot(redis), messagesOf(result))
    return result
  }

  result (): RedisCost {
    const m = Math.max(1, this.messages)
    const total = [...this.calls.values()].reduce((a, b) => a + b, 0)
    const scripts = ['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall'].reduce((a, c) => a + (this.calls.get(c) ?? 0), 0)
    const byCommand = Object.fromEntries([...this.calls].sort((a, b) => b[1] - a[1]).map(([c, n]) => [c, Math.round(100 * n / m) / 100] as const).filter(([, n]) => n > 0))
    return { messages: this.messages, commandsPerMessage: total / m, scriptsPerMessage: scripts / m, cpuUsPerMessage: this.cpuSec * 1e6 / m, byCommand }
  }
}

export function describeCost (c: RedisCost): string {
  const top = Object.entries(c.byCommand).slice(0, 4).map(([cmd, n]) => `${cmd} ${n}`).join(', ')
  return `${c.commandsPerMessage.toFixed(1)} cmds (${c.scriptsPerMessage.toFixed(2)} scripts), ${c.cpuUsPerMessage.toFixed(0)} µs Redis CPU per msg [${top}]`
}
