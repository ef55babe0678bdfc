/**
 * deploy/Dockerfile and docker-compose.yml, read as files (no Docker engine needed): the image
 * runs node behind an init as a non-root user, ships only what runs and checks its own health;
 * compose builds that image once and runs every role from it with node, not npm.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { loadConfig } from '../../shared/config.js'
import { scriptArgv } from '../helpers/scripts.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

interface Instruction { op: string, args: string }

/** The Dockerfile's stages, each a list of instructions (continuation lines joined, comments dropped). */
function stages (path: string): Instruction[][] {
  const lines = readFileSync(path, 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const result: Instruction[][] = []
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/)
    if (op.toUpperCase() === 'FROM') result.push([])
    result.at(-1)?.push({ op: op.toUpperCase(), args: rest.join(' ') })
  }
  return result
}

const dockerStages = stages(join(root, 'deploy/Dockerfile'))
const final = dockerStages.at(-1) ?? []
const only = (op: string): string => {
  const found = final.filter((i) => i.op === op)
  assert.equal(found.length, 1, `one ${op} in the final stage`)
  return found[0]?.args ?? ''
}

const defaultSendTimeoutMs = loadConfig({ env: {}, readFile: () => null }).sendTimeoutMs

test('the image: tini as PID 1, then node with npm start\'s flags, as a non-root user, listening on every interface', () => {
  assert.deepEqual(JSON.parse(only('ENTRYPOINT')), ['/usr/bin/tini', '--'])
  assert.ok(final.some((i) => i.op === 'RUN' && /apt-get install .*\btini\b/.test(i.args)), 'tini is installed in the image')
  assert.deepEqual(JSON.parse(only('CMD')), scriptArgv('start'))
  const [uid] = only('USER').split(':')
  assert.match(uid ?? '', /^[1-9]\d*$/, 'a numeric non-root uid (Kubernetes runAsNonRoot checks numbers)')
  assert.ok(final.some((i) => i.op === 'RUN' && i.args.includes(`chown ${only('USER')} .data`)), 'the writable path belongs to that user')
  assert.equal(only('ENV'), 'HOST=0.0.0.0')
})

test('the image checks its own health with node, on a script the build produces', () => {
  const check = only('HEALTHCHECK')
  const cmd = JSON.parse(check.slice(check.indexOf('CMD ') + 4)) as string[]
  assert.equal(cmd[0], 'node')
  assert.ok(existsSync(join(root, (cmd[1] ?? '').replace(/^dist\//, '').replace(/\.js$/, '.ts'))), `${cmd[1]} is built from a source file`)
})

test('the image ships only what runs: package.json, production dependencies, the compiled services and shared code', () => {
  const copies = final.filter((i) => i.op === 'COPY').map((i) => i.args)
  assert.deepEqual(copies, [
    'package.json ./',
    '--from=production-deps /app/node_modules ./node_modules',
    '--from=build /app/dist/services ./dist/services',
    '--from=build /app/dist/shared ./dist/shared'
  ])
  const deps = dockerStages.find((s) => s[0]?.args.endsWith('AS production-deps')) ?? []
  assert.ok(deps.some((i) => i.op === 'RUN' && i.args.includes('npm ci --omit=dev')), 'dependencies without devDependencies')
  const everything = dockerStages.flat().filter((i) => i.op === 'COPY').map((i) => i.args).join('\n')
  assert.doesNotMatch(everything, /bench|test/, 'the benchmark and tests stay out of every stage')
})

interface ComposeService { ports?: string[], image?: string, build?: unknown, command?: string[], healthcheck?: { test?: string[], disable?: boolean }, stop_grace_period?: string, environment?: Record<string, string>, volumes?: string[], pull_policy?: string }
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> }
const roles = { api: 'start:api', worker: 'start:worker', 'mailgun-sim': 'start:sim' } as const

test('compose builds one image once and runs api, worker and the simulator from it, with node as npm would', () => {
  const built = Object.entries(compose.services).filter(([, s]) => s.build !== undefined).map(([name]) => name)
  assert.deepEqual(built, ['api'])
  const image = compose.services.api?.image
  assert.ok(image)
  for (const [name, script] of Object.entries(roles)) {
    const service = compose.services[name]
    assert.equal(service?.image, image, `${name} runs the one image`)
    if (name !== 'api') assert.equal(service?.pull_policy, 'never', `${name}: never pulled, built by api`)
    assert.deepEqual(service?.command, scriptArgv(script), `${name}: node with npm run ${script}'s flags`)
  }
})

test('compose publishes the API on loopback only: its demo client key is public', () => {
  assert.deepEqual(compose.services.api?.ports, ['127.0.0.1:3000:3000'])
  for (const [name, service] of Object.entries(compose.services)) {
    if (name !== 'api') assert.equal(service.ports, undefined, `${name} publishes nothing`)
  }
})

test('compose: every role has a health check, and the worker has time to finish its sends on docker stop', () => {
  for (const name of ['api', 'worker']) {
    assert.equal(compose.services[name]?.healthcheck, undefined, `${name} keeps the image's HEALTHCHECK`)
  }
  assert.equal(compose.services['mailgun-sim']?.healthcheck?.test?.[0], 'CMD', 'the simulator has its own')
  const grace = /^(\d+)s$/.exec(compose.services.worker?.stop_grace_period ?? '')
  assert.ok(grace, 'stop_grace_period in seconds')
  const sendTimeoutMs = Number(compose.services.worker?.environment?.SEND_TIMEOUT_MS ?? defaultSendTimeoutMs)
  assert.ok(Number(grace[1]) * 1000 >= sendTimeoutMs + 10_000, `${grace[1]} s for sends of up to ${sendTimeoutMs} ms`)
})

test('compose: the config file mounted at CONFIG_FILE loads with the environment compose gives', () => {
  for (const name of ['api', 'worker']) {
    const service = compose.services[name]
    // ${VAR:-default} as compose resolves it when VAR is unset.
    const env = Object.fromEntries(Object.entries(service?.environment ?? {}).map(([k, v]) => [k, v.replace(/\$\{\w+:-([^}]*)\}/g, '$1')]))
    const mount = service?.volumes?.map((v) => v.split(':')).find(([, target]) => target === env.CONFIG_FILE)
    assert.ok(mount?.[0], `${name}: a file mounted at ${env.CONFIG_FILE}`)
    const text = readFileSync(join(root, mount[0]), 'utf8')
    assert.ok(loadConfig({ env, readFile: () => text }).domains.size >= 1)
  }
})
