/**
 * The image's HEALTHCHECK script (`dist/services/healthcheck.js`) against a real API process:
 * healthy when /readyz answers 200 on PORT or WORKER_PORT, unhealthy when nothing does.
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

async function healthcheck (env: Record<string, string>): Promise<number | null> {
  const child = spawn(process.execPath, [join(root, 'dist/services/healthcheck.js')], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' })
  return await new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

test('the health check passes while the API is ready on PORT or WORKER_PORT, and fails when nothing answers', async (t) => {
  const defer = cleanups(t)
  const dir = mkdtempSync(join(tmpdir(), 'mq-health-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'mailqueue.json'), JSON.stringify({ clients: [], domains: [{ name: 'mg.example.com', region: 'us', sendingKey: 'k' }] }))
  const port = String(await freePort())
  const unused = String(await freePort())
  const api = spawn(process.execPath, [join(root, 'dist/services/api/server.js')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', REDIS_URL: testRedisUrl(), MAILQUEUE_PREFIX: uniquePrefix(), HOST: '127.0.0.1', PORT: port, LOG_LEVEL: 'warn' },
    stdio: 'ignore'
  })
  const exited = new Promise((resolve) => api.once('exit', resolve))
  defer(async () => { api.kill('SIGKILL'); await exited })

  assert.equal(await healthcheck({ PORT: unused, WORKER_PORT: unused }), 1)
  await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok || undefined, 'the API ready', 30_000)
  assert.equal(await healthcheck({ PORT: port, WORKER_PORT: unused }), 0)
  assert.equal(await healthcheck({ PORT: unused, WORKER_PORT: port }), 0)
})
