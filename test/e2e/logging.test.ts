/**
 * Logs as people and log collectors see them: the built entry files (test/run.ts builds them) in
 * a pseudo-terminal through `script`, and through pipes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../shared/redis-server.js'
import { cleanups } from '../helpers/cleanups.js'
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js'
import { eventually } from '../helpers/stack.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const ANSI = /\x1b\[[0-9;]*m/
const ANSI_ALL = new RegExp(ANSI.source, 'g')

interface Proc {
  /** Output without colours and carriage returns. */
  out(): string
  raw(): string
  exited: Promise<number | null>
  stop(): Promise<void>
}

/** Runs `command` with `args`, in its own process group so the whole tree can be stopped. */
function run (command: string, args: string[], env: Record<string, string>, cwd: string): Proc {
  const child = spawn(command, args, { cwd, detached: true, env: { PATH: process.env.PATH ?? '', ...env } })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    out: () => out.replace(ANSI_ALL, '').replace(/\r/g, ''),
    raw: () => out,
    exited,
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      process.kill(-(child.pid as number), 'SIGTERM')
      await exited
    }
  }
}

/** Starts `npm start`'s entry in sandbox mode from an empty directory and sends one message once the banner is out. */
async function startAndSend (t: Parameters<typeof cleanups>[0], terminal: boolean, env: Record<string, string> = {}): Promise<Proc> {
  const defer = cleanups(t)
  const cwd = mkdtempSync(join(tmpdir(), 'mq-logs-'))
  defer(() => rmSync(cwd, { recursive: true, force: true }))
  const port = await freePort()
  const vars = { REDIS_URL: testRedisUrl(), MAILQUEUE_PREFIX: uniquePrefix(), HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env }
  const main = join(root, 'dist/services/main.js')
  // `script` gives the process a pseudo-terminal, as a person running `npm start` has.
  const proc = terminal ? run('script', ['-qfec', `'${process.execPath}' '${main}'`, '/dev/null'], vars, cwd) : run(process.execPath, [main], vars, cwd)
  defer(() => proc.stop())
  const banner = await eventually(() => proc.out().includes('Then read its record') ? proc.out() : undefined, 'the banner', 30_000)
  const key = /client key: (\S+)/.exec(banner)?.[1]
  const res = await fetch(`http://127.0.0.1:${port}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ domain: 'sandbox.test', from: 'a@sandbox.test', to: ['b@example.com'], subject: 'Hi', text: 'Hello' })
  })
  assert.equal(res.status, 202)
  return proc
}

test('npm start in a terminal: readable log lines, and the banner names the Redis it uses', async (t) => {
  const proc = await startAndSend(t, true)
  const outcome = await eventually(() => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: worker: outcome \{.*"status":"sent".*\}$/m.exec(proc.out())?.[0], 'a pretty outcome line')
  assert.match(outcome, /"domain":"sandbox\.test"/)
  assert.match(proc.out(), new RegExp(`^ {2}Redis: ${testRedisUrl().replace(/[.:/]/g, '\\$&')}/? \\(us\\)$`, 'm'))
  assert.doesNotMatch(proc.out(), /^\{"level"/m, 'no JSON lines on a terminal')
  assert.match(proc.raw(), ANSI, 'levels in colour')
  t.diagnostic(outcome)
})

test('npm start into a pipe logs JSON lines; LOG_FORMAT=pretty overrides that, colourless', async (t) => {
  await t.test('json', async (t) => {
    const proc = await startAndSend(t, false)
    const line = await eventually(() => proc.out().split('\n').find((l) => l.startsWith('{') && l.includes('"msg":"outcome"')), 'a JSON outcome line')
    assert.equal(JSON.parse(line).status, 'sent')
  })
  await t.test('pretty', async (t) => {
    const proc = await startAndSend(t, false, { LOG_FORMAT: 'pretty' })
    await eventually(() => /^\[[\d:.]+\] INFO: worker: outcome \{/m.test(proc.out()) || undefined, 'a pretty outcome line')
    assert.doesNotMatch(proc.raw(), ANSI, 'no colour codes in a file')
  })
})

test('pretty lines are redacted like JSON ones, and start:api names its Redis with the password hidden', async (t) => {
  const defer = cleanups(t)
  const cwd = mkdtempSync(join(tmpdir(), 'mq-logs-'))
  defer(() => rmSync(cwd, { recursive: true, force: true }))
  const logger = join(root, 'dist/shared/logger.js')
  const script = `import { createProcessLogger } from '${logger}'
createProcessLogger({ logLevel: 'info', logFormat: 'pretty' }).info({ domain: { sendingKey: 'key-should-not-show' }, authorization: 'Basic c2VjcmV0' }, 'configured')`
  const pretty = run(process.execPath, ['--input-type=module', '-e', script], {}, cwd)
  assert.equal(await pretty.exited, 0)
  assert.match(pretty.out(), /^\[[\d:.]+\] INFO: configured \{"domain":\{"sendingKey":"\[redacted\]"\},"authorization":"\[redacted\]"\}\n$/)

  // Redis takes the password even without one set (it warns), so the start line can be seen whole.
  const password = `pw-${uniquePrefix()}`
  writeFileSync(join(cwd, 'mailqueue.json'), JSON.stringify({ clients: [], domains: [{ name: 'mg.example.com', region: 'us', sendingKey: 'k' }] }))
  const redisUrl = testRedisUrl().replace('redis://', `redis://:${password}@`)
  const api = run(process.execPath, [join(root, 'dist/services/api/server.js')], { REDIS_URL: redisUrl, HOST: '127.0.0.1', PORT: String(await freePort()), MAILQUEUE_PREFIX: uniquePrefix() }, cwd)
  defer(() => api.stop())
  const line = await eventually(() => api.out().split('\n').find((l) => l.includes('"msg":"api listening"')), 'the start line', 30_000)
  assert.equal(JSON.parse(line).redis.us, redisUrl.replace(password, '***'))
  assert.ok(!api.out().includes(password), 'the password never shows')
})
