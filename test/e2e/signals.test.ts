/**
 * Signals the way users send them: `npm start`, `npm run start:api` and `npm run start:worker`
 * run through npm itself, and the signal goes to npm (`kill -TERM <npm>`, a process manager) or,
 * for Ctrl-C, to the whole foreground process group. Afterwards no process of the tree is left
 * (npm, node, the private redis-server) and the sends in flight finished. Processes are found in
 * /proc: every process of a run has its working directory in that run's own directory.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../shared/redis-server.js'
import { testRedisUrl } from '../helpers/redis.js'
import { cleanups, type Cleanup } from '../helpers/cleanups.js'
import { accept, eventually, onlyPartition, startStack, statusesOf } from '../helpers/stack.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const DOMAIN = 'mg.example.com'

interface Proc { pid: number, ppid: number, cmdline: string, cwd: string }

/** Every live process (zombies are dead already) with its parent, command line and working directory. */
function processes (): Proc[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (state === 'Z') return []
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
      return [{ pid: Number(pid), ppid: Number(ppid), cmdline, cwd: readlinkSync(`/proc/${pid}/cwd`) }]
    } catch {
      return [] // exited while being read
    }
  })
}

const runningIn = (dir: string): Proc[] => processes().filter((p) => p.cwd === dir || p.cwd.startsWith(dir + '/'))

/** `pid` and every process below it. */
function treeOf (pid: number): Proc[] {
  const all = processes()
  const tree = all.filter((p) => p.pid === pid)
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]?.pid))
  return tree
}

/**
 * A directory npm takes for the project: a copy of package.json and dist/ linked in. npm runs
 * the real scripts there, and `npm start`'s private Redis keeps its data under it.
 */
function project (defer: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), 'mq-signals-'))
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'))
  symlinkSync(join(root, 'dist'), join(dir, 'dist'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

interface NpmRun {
  npm: ChildProcess
  exited: Promise<number | null>
  output(): string
  /** The process tree while it runs: npm, node and the private redis-server, if any. */
  tree(): Proc[]
}

/** Runs `npm <args>` in `dir` with only `env` (no REDIS_URL of the test runner); killed at the end. */
function npm (defer: Cleanup, dir: string, args: string[], env: Record<string, string>, opts: { ownGroup?: boolean } = {}): NpmRun {
  const child = spawn('npm', args, {
    cwd: dir,
    detached: opts.ownGroup === true,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, npm_config_update_notifier: 'false', LOG_LEVEL: 'warn', ...env }
  })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  defer(async () => {
    for (const p of runningIn(dir)) {
      try { process.kill(p.pid, 'SIGKILL') } catch {} // gone meanwhile
    }
    await exited
  })
  return { npm: child, exited, output: () => out, tree: () => treeOf(child.pid ?? -1) }
}

/** Waits for npm to exit with code 0 and for every process it started to be gone. */
async function assertAllGone (run: NpmRun, dir: string, seen: Proc[]): Promise<void> {
  const { npm } = run
  const ended = await eventually(() => npm.exitCode !== null || npm.signalCode !== null ? { code: npm.exitCode, signal: npm.signalCode } : undefined, 'npm to exit', 30_000)
  assert.deepEqual(ended, { code: 0, signal: null }, run.output())
  await eventually(() => runningIn(dir).length === 0 || undefined, `no process left in ${dir}`, 20_000)
  const left = processes().filter((p) => seen.some((s) => s.pid === p.pid && s.cmdline === p.cmdline))
  assert.deepEqual(left, [], 'every process of the tree exited')
}

/** The node process of `script` must be npm's own child: no shell in between swallowing signals. */
function nodeUnderNpm (tree: Proc[], npmPid: number, script: string): Proc {
  const node = tree.find((p) => p.cmdline.startsWith('node ') && p.cmdline.includes(script))
  assert.ok(node, `node ${script} runs: ${JSON.stringify(tree)}`)
  assert.equal(node.ppid, npmPid, `node is npm's own child: ${JSON.stringify(tree)}`)
  return node
}

interface Sandbox { run: NpmRun, api: string, sim: string, clientKey: string }

/** `npm start` in sandbox mode with its private redis-server (PRIVATE_REDIS=1: this machine may have a Redis on 6379). */
async function startSandbox (defer: Cleanup, dir: string, opts: { ownGroup?: boolean } = {}): Promise<Sandbox> {
  const port = await freePort()
  const run = npm(defer, dir, ['start'], { PRIVATE_REDIS: '1', HOST: '127.0.0.1', PORT: String(port) }, opts)
  const banner = await eventually(() => run.output().includes('Then read its record') ? run.output() : undefined, 'the banner', 30_000)
  return {
    run,
    api: `http://127.0.0.1:${port}`,
    sim: /local Mailgun simulator at (\S+)/.exec(banner)?.[1] ?? '',
    clientKey: /client key: (\S+)/.exec(banner)?.[1] ?? ''
  }
}

/** Queues one message while the simulator answers slowly; resolves once its send is in flight. */
async function sendSlowly (s: Sandbox): Promise<string> {
  const post = async (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  assert.equal((await post(`${s.sim}/sim/delay`, { ms: 2000 })).status, 200)
  const res = await post(`${s.api}/v1/messages`, { domain: 'sandbox.test', from: 'a@sandbox.test', to: ['b@example.com'], subject: 'Hi', text: 'Hello' }, { authorization: `Bearer ${s.clientKey}` })
  assert.equal(res.status, 202)
  const { id } = await res.json() as { id: string }
  await eventually(async () => ((await (await fetch(`${s.sim}/sim/stats`)).json()) as { requests: number }).requests >= 1 || undefined, 'the send in flight')
  return id
}

/** Starts `npm start` again on the same data and reads the record: it proves the send finished and was stored before Redis stopped. */
async function statusAfterRestart (defer: Cleanup, dir: string, id: string): Promise<string> {
  const again = await startSandbox(defer, dir)
  const seen = again.run.tree()
  const res = await fetch(`${again.api}/v1/messages/${id}`, { headers: { authorization: `Bearer ${again.clientKey}` } })
  const { status } = await res.json() as { status: string }
  again.run.npm.kill('SIGTERM')
  await assertAllGone(again.run, dir, seen)
  return status
}

for (const how of ['SIGTERM to npm', 'Ctrl-C (SIGINT to the process group)'] as const) {
  test(`npm start, ${how}: the send in flight finishes, then node and its private redis-server exit`, async (t) => {
    const defer = cleanups(t)
    const dir = project(defer)
    const ctrlC = how.startsWith('Ctrl-C')
    const s = await startSandbox(defer, dir, { ownGroup: ctrlC })
    const npmPid = s.run.npm.pid ?? -1
    const seen = s.run.tree()
    const node = nodeUnderNpm(seen, npmPid, 'dist/services/main.js')
    assert.ok(seen.some((p) => p.ppid === node.pid && p.cmdline.startsWith('redis-server')), `the private redis-server runs: ${JSON.stringify(seen)}`)
    const id = await sendSlowly(s)

    if (ctrlC) process.kill(-npmPid, 'SIGINT')
    else s.run.npm.kill('SIGTERM')
    await assertAllGone(s.run, dir, seen)
    assert.equal(await statusAfterRestart(defer, dir, id), 'sent')
  })
}

test('npm run start:worker, SIGTERM to npm: the sends in flight finish and are recorded, nothing is left', async (t) => {
  const defer = cleanups(t)
  const dir = project(defer)
  const stack = await startStack({ domains: [{ name: DOMAIN, region: 'us' }], worker: false })
  defer(() => stack.close())
  writeFileSync(join(dir, 'mailqueue.json'), JSON.stringify({ clients: [], domains: [{ name: DOMAIN, region: 'us', sendingKey: stack.sendingKeys[DOMAIN] }] }))
  const run = npm(defer, dir, ['run', 'start:worker'], {
    REDIS_URL: testRedisUrl(),
    MAILQUEUE_PREFIX: stack.config.prefix,
    MAILGUN_API_BASE_US: stack.sims.us.url,
    WORKER_REGIONS: 'us',
    WORKER_PORT: String(await freePort())
  })
  const { queue } = onlyPartition(stack)
  await eventually(async () => await queue.getWorkersCount() >= 1 || undefined, 'the worker on the queue', 30_000)
  const seen = run.tree()
  nodeUnderNpm(seen, run.npm.pid ?? -1, 'dist/services/worker/main.js')
  stack.sims.us.setDelay(2000)
  const inFlight = await accept(stack, DOMAIN, 2)
  await eventually(() => stack.sims.us.requests() >= 2 || undefined, 'both sends in flight', 30_000)

  run.npm.kill('SIGTERM')
  await assertAllGone(run, dir, seen)
  assert.deepEqual(await statusesOf(stack, inFlight.map((m) => m.id)), ['sent', 'sent'])
})

test('npm run start:api, SIGTERM to npm: node exits, nothing is left', async (t) => {
  const defer = cleanups(t)
  const dir = project(defer)
  writeFileSync(join(dir, 'mailqueue.json'), JSON.stringify({ clients: [], domains: [{ name: DOMAIN, region: 'us', sendingKey: 'k' }] }))
  const port = await freePort()
  const run = npm(defer, dir, ['run', 'start:api'], { REDIS_URL: testRedisUrl(), HOST: '127.0.0.1', PORT: String(port) })
  await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok || undefined, 'the API up', 30_000)
  const seen = run.tree()
  nodeUnderNpm(seen, run.npm.pid ?? -1, 'dist/services/api/server.js')
  run.npm.kill('SIGTERM')
  await assertAllGone(run, dir, seen)
})

/** Start-up failures after the private redis-server started: node exits 1 and takes it along. */
const failures: Array<{ what: string, arrange: (dir: string, defer: Cleanup) => Promise<Record<string, string>>, says: RegExp }> = [
  {
    what: 'a bad config file',
    arrange: async (dir) => {
      writeFileSync(join(dir, 'mailqueue.json'), JSON.stringify({ clients: [], domains: [{ name: 'a.com', region: 'asia', sendingKey: 'k' }] }))
      return {}
    },
    says: /^mailqueue: \.\/mailqueue\.json: domains\[0\]\.region must be "us" or "eu"$/m
  },
  {
    what: 'the API port taken',
    arrange: async (_dir, defer) => {
      const taken = createServer()
      const port = await freePort()
      await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve))
      defer(() => new Promise<void>((resolve) => taken.close(() => resolve())))
      return { HOST: '127.0.0.1', PORT: String(port) }
    },
    says: /EADDRINUSE/
  }
]

for (const { what, arrange, says } of failures) {
  test(`npm start fails on ${what} after its private redis-server started: it stops that server too`, async (t) => {
    const defer = cleanups(t)
    const dir = project(defer)
    const env = await arrange(dir, defer)
    const run = npm(defer, dir, ['start'], { PRIVATE_REDIS: '1', ...env })
    assert.notEqual(await run.exited, 0)
    assert.match(run.output(), /started a private redis-server/)
    assert.match(run.output(), says)
    await eventually(() => runningIn(dir).length === 0 || undefined, `no process left in ${dir}`, 20_000)
  })
}

test('PRIVATE_REDIS: a wrong value, or together with REDIS_URL, stops start-up with one line', async (t) => {
  const defer = cleanups(t)
  const dir = project(defer)
  const cases: Array<[Record<string, string>, string]> = [
    [{ PRIVATE_REDIS: 'yes' }, 'mailqueue: PRIVATE_REDIS must be 1 or 0, not "yes"\n'],
    [{ PRIVATE_REDIS: '1', REDIS_URL: testRedisUrl() }, 'mailqueue: PRIVATE_REDIS=1 and REDIS_URL are both set: choose one\n']
  ]
  for (const [env, line] of cases) {
    const child = spawn(process.execPath, [join(root, 'dist/services/main.js')], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env } })
    let err = ''
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    const code = await new Promise((resolve) => child.once('exit', resolve))
    assert.deepEqual({ code, err }, { code: 1, err: line })
  }
})
