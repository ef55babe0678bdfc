import { Queue } from 'bullmq'
import { Cluster, Redis } from 'ioredis'
import { partitionSpace } from '../../shared/partitions.js'
import { queueName } from '../../shared/queues.js'
import { startRedisCluster, type RedisClusterHandle } from '../../shared/redis-cluster.js'
import { NAIVE_QUEUE } from '../baseline/naive-queue.js'
import { CostMeter, type Cost } from '../cost.js'
import { enqueueNaive, enqueueViaApi } from '../enqueue.js'
import { rotate } from '../load.js'
import { countStoppedCpu, type Service } from '../processes.js'
import { fmtInt, type Context, type Row, type Scenario, type ScenarioResult } from '../scenario.js'
import { mailqueueAvailable, startMailqueueApi, startMailqueueWorker, startNaiveWorker, type RedisEnv } from '../stack.js'
import { drain, fold, summary, type DrainFigure } from './drain.js'

/**
 * Scale-out: the same queued messages drained by 1 and by 3 worker processes, on one Redis with
 * one queue (QUEUE_PARTITIONS=1) and on a private Redis Cluster of MASTERS masters with one
 * partition per master; the naive BullMQ worker, 1 and 3 processes on the one Redis, for
 * reference. The queues are paused until every worker of a drain is up, so all of them drain all
 * of it. What carries over to a bigger machine is the cost per message, above all Redis CPU and
 * how it splits over the masters: here the masters, the workers, the simulator and the benchmark
 * all share the same cores.
 */

const MASTERS = 3
/** One partition per master: the fewest that put every master to work (see bench/README.md). */
const PARTITIONS = MASTERS
const ROUNDS = 3
const PREFIX = 'mailqueue'
const REGION = 'us'

interface Setup {
  key: string
  subject: string
  workers: number
  /** The naive baseline (on the one Redis) instead of mailqueue. */
  naive: boolean
  cluster: boolean
}

const SETUPS: Setup[] = [
  { key: 'naive-1', subject: '(b) naive worker ×1, 1 Redis', workers: 1, naive: true, cluster: false },
  { key: 'naive-3', subject: '(b) naive worker ×3, 1 Redis', workers: 3, naive: true, cluster: false },
  { key: 'single-1', subject: 'mailqueue ×1 worker, 1 Redis, 1 partition', workers: 1, naive: false, cluster: false },
  { key: 'single-3', subject: 'mailqueue ×3 workers, 1 Redis, 1 partition', workers: 3, naive: false, cluster: false },
  { key: 'cluster-1', subject: `mailqueue ×1 worker, cluster of ${MASTERS}, ${PARTITIONS} partitions`, workers: 1, naive: false, cluster: true },
  { key: 'cluster-3', subject: `mailqueue ×3 workers, cluster of ${MASTERS}, ${PARTITIONS} partitions`, workers: 3, naive: false, cluster: true }
]

/** Where one setup's messages live: the Redis servers to measure and how services reach them. */
interface Target {
  servers: Redis[]
  env: RedisEnv
  /** A connection for the bench's own BullMQ calls (pause, resume). */
  connect: () => Redis | Cluster
}

/** Starts `k` processes at once; if one fails, stops the others and throws. */
async function startAll (k: number, start: () => Promise<Service>): Promise<Service[]> {
  const settled = await Promise.allSettled(Array.from({ length: k }, start))
  const up = settled.flatMap((s) => s.status === 'fulfilled' ? [s.value] : [])
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) {
    await Promise.all(up.map(async (s) => await s.stop()))
    throw failed.reason
  }
  return up
}

/**
 * BullMQ's own pause on every queue of a setup, so that no worker starts draining before the
 * others are up; `resume` lets them all go at once.
 */
async function pauseQueues (target: Target, name: string, prefixes: readonly string[]): Promise<{ resume: () => Promise<void>, close: () => Promise<void> }> {
  const connection = target.connect()
  const queues = prefixes.map((prefix) => new Queue(name, { connection, prefix }))
  const close = async (): Promise<void> => {
    await Promise.allSettled(queues.map(async (q) => await q.close()))
    connection.disconnect()
  }
  try {
    await Promise.all(queues.map(async (q) => await q.pause()))
  } catch (err) {
    await close()
    throw err
  }
  return { resume: async () => { await Promise.all(queues.map(async (q) => await q.resume())) }, close }
}

function queuePrefixes (setup: Setup): string[] {
  if (setup.naive) return ['bull']
  if (!setup.cluster) return [PREFIX]
  return Array.from({ length: PARTITIONS }, (_, index) => partitionSpace(PREFIX, REGION, { index, count: PARTITIONS }))
}

async function drainSetup (ctx: Context, setup: Setup, target: Target, n: number, cost: CostMeter): Promise<DrainFigure> {
  const { stack } = ctx
  await Promise.all(target.servers.map(async (r) => await r.flushall()))
  if (setup.naive) {
    await enqueueNaive(stack, n)
  } else {
    const api = await startMailqueueApi(stack, target.env)
    try {
      await enqueueViaApi(stack, api.url, n)
    } finally {
      await api.svc.stop()
    }
  }
  const paused = await pauseQueues(target, setup.naive ? NAIVE_QUEUE : queueName(REGION), queuePrefixes(setup))
  const startOne = setup.naive ? async () => await startNaiveWorker(stack) : async () => await startMailqueueWorker(stack, target.env)
  try {
    return await drain(stack, n, ctx.secs(180, 60) * 1000, { start: async () => await startAll(setup.workers, startOne), redis: target.servers, release: paused.resume }, cost)
  } finally {
    await paused.close()
  }
}

/** Redis CPU and commands per message, the busiest master's share, and the worker's CPU. */
function describeScale (cost: Cost): string {
  const us = cost.redisCpuUsPerMessage
  const workers = Object.entries(cost.processCpuUsPerMessage).filter(([name]) => name !== 'mailgun-sim').reduce((a, [, v]) => a + v, 0)
  const masters = cost.redisCpuUsPerMessageByServer.length
  const busiest = us * cost.busiestServerShare
  const redis = masters > 1
    ? `Redis ${Math.round(us)} µs/msg over ${masters} masters, busiest ${Math.round(100 * cost.busiestServerShare)}% (${Math.round(busiest)} µs/msg)`
    : `Redis ${Math.round(us)} µs/msg`
  // Where Redis alone would stop: its busiest server's core fully used.
  return `${redis}, ${cost.commandsPerMessage.toFixed(1)} cmds/msg; workers ${Math.round(workers)} µs/msg; Redis-bound at ~${fmtInt(1e6 / busiest)} msg/s`
}

export const scale: Scenario = {
  name: 'scale',
  title: 'scale-out drain',
  steps: ROUNDS + 2,
  async run (ctx: Context, out: ScenarioResult): Promise<void> {
    const avail = mailqueueAvailable()
    if (!avail.api || !avail.worker) {
      out.notes.push('scale-out drain: mailqueue API or worker missing, not measured')
      return
    }
    const n = ctx.count(20_000, 2_000)
    Object.assign(out.figures, { messages: n, rounds: ROUNDS, masters: MASTERS, partitions: PARTITIONS, workerConcurrency: 50, fold: 'median of rounds' })
    let cluster: RedisClusterHandle | undefined
    let clusterAdmins: Redis[] = []
    try {
      const up = ctx.progress.step(`scale-out: start a private Redis Cluster of ${MASTERS} masters`)
      cluster = await startRedisCluster(MASTERS)
      clusterAdmins = cluster.servers.map((s) => new Redis(s.url, { maxRetriesPerRequest: 1 }))
      const nodes = cluster.nodes
      up(nodes)
      const servers = cluster.servers
      const single: Target = {
        servers: [ctx.stack.admin],
        env: { QUEUE_PARTITIONS: '1' },
        connect: () => new Redis(ctx.stack.redis.url, { maxRetriesPerRequest: 1 })
      }
      const clustered: Target = {
        servers: clusterAdmins,
        env: { REDIS_CLUSTER_NODES: nodes, QUEUE_PARTITIONS: String(PARTITIONS) },
        connect: () => new Cluster(servers.map((srv) => ({ host: '127.0.0.1', port: srv.port })))
      }
      const targetOf = (s: Setup): Target => s.cluster ? clustered : single

      // A small untimed drain on each Redis first: the first drain on a fresh server runs slowest.
      const warm = ctx.progress.step(`scale-out warm-up (${fmtInt(n / 10)} msgs on each Redis, not counted)`)
      for (const s of SETUPS.filter((s) => s.workers === 1)) await drainSetup(ctx, s, targetOf(s), Math.round(n / 10), new CostMeter())
      warm('done')

      const figures = new Map(SETUPS.map((s) => [s.key, [] as DrainFigure[]]))
      const meters = new Map(SETUPS.map((s) => [s.key, new CostMeter()]))
      for (let r = 0; r < ROUNDS; r++) {
        const done = ctx.progress.step(`scale-out round ${r + 1}/${ROUNDS} (${fmtInt(n)} msgs, ${SETUPS.length} setups)`)
        const line: string[] = []
        for (const s of rotate(SETUPS, r)) {
          const f = await drainSetup(ctx, s, targetOf(s), n, meters.get(s.key) ?? new CostMeter())
          figures.get(s.key)?.push(f)
          line.push(`${s.key} ${fmtInt(f.messagesPerSec)}`)
        }
        done(`msg/s: ${line.join(', ')}`)
      }

      for (const s of SETUPS) {
        const f = { ...fold(figures.get(s.key) ?? []), cost: (meters.get(s.key) ?? new CostMeter()).result() }
        out.figures[s.key] = { ...s, ...f }
        const delivered = f.received >= n && !f.timedOut
        out.rows.push({
          scenario: 'scale-out drain',
          subject: s.subject,
          result: `${summary(f)}; ${describeScale(f.cost)}`,
          target: s.naive ? '' : 'all delivered',
          pass: s.naive ? null : delivered
        } satisfies Row)
        const dupes = f.rounds.reduce((a, r) => a + r.received - r.uniqueMessageIds, 0)
        if (dupes > 0) out.notes.push(`scale-out drain, ${s.subject}: ${dupes} duplicate deliveries (at-least-once)`)
      }
      out.notes.push(`scale-out drain: the ${MASTERS} cluster masters, up to 3 workers, the simulator and the benchmark share this machine's cores, so msg/s says little about a bigger machine; the costs per message and the busiest master's share are what carry over`)
    } finally {
      for (const a of clusterAdmins) a.disconnect()
      for (const s of cluster?.servers ?? []) if (s.process.pid !== undefined) countStoppedCpu(s.process.pid)
      await cluster?.stop()
    }
  }
}
