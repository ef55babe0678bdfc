import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from '../../shared/redis-server.js'
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js'
import { eventually } from '../helpers/stack.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const sh = promisify(execFile)

/** Runs a built entry file the way `npm start` does (test/run.ts builds first), from `cwd`. */
function run (entry: string, env: Record<string, string>, cwd: string) {
  const child = spawn(process.execPath, [join(root, 'dist', entry)], { cwd, env: { PATH: process.env.PATH ?? '', ...env } })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exited, out: () => out, err: () => err }
}

test('npm start with no config prints a curl line that works as printed; the message is sent', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'mq-start-'))
  const port = await freePort()
  // No HOST: sandbox mode listens on loopback by itself.
  const proc = run('services/main.js', { REDIS_URL: testRedisUrl(), MAILQUEUE_PREFIX: uniquePrefix(), PORT: String(port), LOG_LEVEL: 'warn' }, cwd)
  t.after(() => { proc.child.kill('SIGKILL'); rmSync(cwd, { recursive: true, force: true }) })

  const banner = await eventually(() => proc.out().includes('Then read its record') ? proc.out() : undefined, 'the banner', 30_000)
  assert.match(banner, /sandbox mode/)
  assert.match(banner, new RegExp(`API: +http://127\\.0\\.0\\.1:${port} `))
  assert.match(banner, /client key: mq-sandbox-/)
  const lines = banner.split('\n')
  const at = lines.findIndex((l) => l.trim().startsWith('curl -s -X POST'))
  const post = (lines[at] ?? '').replace(/\\$/, '') + (lines[at + 1] ?? '')
  const read = lines.find((l) => l.trim().startsWith(`curl -s http://127.0.0.1:${port}/v1/messages/ID`)) ?? ''

  const accepted = JSON.parse((await sh('sh', ['-c', post])).stdout) as { id: string, messageId: string, status: string }
  assert.equal(accepted.status, 'queued')
  const record = await eventually(async () => {
    const r = JSON.parse((await sh('sh', ['-c', read.replace('/ID', `/${accepted.id}`)])).stdout) as { status: string, provider?: { id: string, date: string }, sentAt?: string, sentAtSource?: string }
    return r.status === 'sent' ? r : undefined
  }, 'the record to say sent')
  assert.equal(record.provider?.id, accepted.messageId)
  assert.equal(record.sentAtSource, 'provider')
  assert.equal(record.sentAt, new Date(record.provider?.date ?? '').toISOString())

  proc.child.kill('SIGTERM')
  assert.equal(await proc.exited, 0)
})

test('a bad config file stops start-up with one line naming the file and the field', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'mq-badcfg-'))
  t.after(() => rmSync(cwd, { recursive: true, force: true }))
  writeFileSync(join(cwd, 'mailqueue.json'), JSON.stringify({ clients: [], domains: [{ name: 'a.com', region: 'asia', sendingKey: 'k' }] }))
  const proc = run('services/api/server.js', { REDIS_URL: testRedisUrl() }, cwd)
  assert.equal(await proc.exited, 1)
  assert.equal(proc.err(), 'mailqueue: ./mailqueue.json: domains[0].region must be "us" or "eu"\n')
})

test('a Mailgun base in plain http to a public address stops start-up with one line naming the variable', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'mq-http-'))
  t.after(() => rmSync(cwd, { recursive: true, force: true }))
  writeFileSync(join(cwd, 'mailqueue.json'), JSON.stringify({ clients: [], domains: [{ name: 'a.com', region: 'us', sendingKey: 'k' }] }))
  const proc = run('services/worker/main.js', { REDIS_URL: testRedisUrl(), MAILGUN_API_BASE_US: 'http://203.0.113.10' }, cwd)
  assert.equal(await proc.exited, 1)
  assert.match(proc.err(), /^mailqueue: environment: MAILGUN_API_BASE_US must be an https URL [^\n]*\n$/)
})
