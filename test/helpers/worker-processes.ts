/**
 * Real worker processes for end-to-end tests: `services/worker/main.ts` spawned as
 * `npm run start:worker` runs it, fed by an in-process API on the same Redis, prefix and senders
 * file, sending to an in-process simulator.
 */
import type { TestContext } from 'node:test'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testRedisUrl } from './redis.js'
import { cleanups } from './cleanups.js'
import { eventually, onlyPartition, startStack, type Stack, type StackDomain } from './stack.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface WorkerProcess {
  child: ChildProcess
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  output(): string
}

export interface Rig {
  stack: Stack
  /** Starts `npm run start:worker`'s entry file with the stack's Redis, prefix, senders and simulators. */
  spawnWorker(env?: Record<string, string>): WorkerProcess
}

/** An API-only stack plus what a worker process needs to join it; everything is torn down at the end. */
export async function rig (t: TestContext, domains: StackDomain[], workerEnv: Record<string, string>): Promise<Rig> {
  const defer = cleanups(t)
  const dir = mkdtempSync(join(tmpdir(), 'mq-workers-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  const stack = await startStack({ domains, worker: false })
  defer(() => stack.close())
  await eventually(() => [...stack.links.links.values()].every((l) => l.storeRedis.status === 'ready') || undefined, 'redis connections ready')
  const configFile = join(dir, 'mailqueue.json')
  writeFileSync(configFile, JSON.stringify({
    clients: [],
    domains: domains.map((d) => ({
      name: d.name, region: d.region, sendingKey: stack.sendingKeys[d.name],
      ...(d.ratePerSecond ? { ratePerSecond: d.ratePerSecond } : {}),
      ...(d.primaryKey ? { primaryKey: stack.accountKeys[d.region] } : {})
    }))
  }))
  return {
    stack,
    spawnWorker (env = {}) {
      const child = spawn(process.execPath, [join(root, 'dist/services/worker/main.js')], {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? '',
          REDIS_URL: testRedisUrl(),
          MAILQUEUE_PREFIX: stack.config.prefix,
          CONFIG_FILE: configFile,
          MAILGUN_API_BASE_US: stack.sims.us.url,
          MAILGUN_API_BASE_EU: stack.sims.eu.url,
          WORKER_REGIONS: 'us',
          LOG_LEVEL: 'warn',
          // Several workers at once: each takes a free loopback port for /healthz, /readyz and /metrics.
          HOST: '127.0.0.1',
          WORKER_PORT: '0',
          BACKOFF_BASE_MS: '50',
          BACKOFF_CAP_MS: '500',
          ...workerEnv,
          ...env
        }
      })
      let out = ''
      child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
      child.stderr?.on('data', (c: Buffer) => { out += c.toString() })
      const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }))
      })
      defer(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        await exited
      })
      return { child, exited, output: () => out }
    }
  }
}

export const uniqueReceived = (stack: Stack): number => new Set(stack.sims.us.received().map((m) => m.messageId)).size

export async function workersOnQueue (stack: Stack): Promise<number> {
  return await onlyPartition(stack).queue.getWorkersCount()
}
