/**
 * `npm test`: brings up one Redis for the whole run (REDIS_URL if set, else Testcontainers when a
 * Docker engine answers, else redis-server from PATH on a free port) and one 3-master Redis
 * Cluster (REDIS_CLUSTER_TEST_NODES if set, else redis-server and redis-cli from PATH), builds
 * dist/ for the end-to-end tests, runs every test file with node's test runner, then tears both
 * down. Arguments narrow the run to the given files.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { startRedisCluster } from '../shared/redis-cluster.js'
import { startRedisServer } from '../shared/redis-server.js'

function testFiles (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'helpers' ? [] : testFiles(path)
    return name.endsWith('.test.ts') ? [path] : []
  }).sort()
}

async function bringRedis (): Promise<{ url: string, stop: () => Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} }
  if (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0) {
    const { RedisContainer } = await import('@testcontainers/redis')
    const container = await new RedisContainer('redis:7-alpine').start()
    return { url: container.getConnectionUrl(), stop: async () => { await container.stop() } }
  }
  const server = await startRedisServer()
  return { url: server.url, stop: () => server.stop() }
}

/** The cluster's seed nodes, or null when this machine cannot run one (cluster tests then skip and say so). */
async function bringCluster (): Promise<{ nodes: string | null, stop: () => Promise<void> }> {
  if (process.env.REDIS_CLUSTER_TEST_NODES) return { nodes: process.env.REDIS_CLUSTER_TEST_NODES, stop: async () => {} }
  try {
    const cluster = await startRedisCluster(3)
    return { nodes: cluster.nodes, stop: () => cluster.stop() }
  } catch (err) {
    process.stdout.write(`no Redis Cluster for the cluster tests: ${(err as Error).message}\n`)
    return { nodes: null, stop: async () => {} }
  }
}

// End-to-end tests run the built entry files, exactly what `npm start` runs: build them fresh.
const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)

const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles('test')
const [redis, cluster] = await Promise.all([bringRedis(), bringCluster()])
process.stdout.write(`test redis: ${redis.url}; test cluster: ${cluster.nodes ?? 'none'}\n`)
const child = spawn(process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files
], { stdio: 'inherit', env: { ...process.env, REDIS_URL: redis.url, REDIS_CLUSTER_TEST_NODES: cluster.nodes ?? '', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' } })
const code: number = await new Promise((resolve) => child.once('exit', (c) => resolve(c ?? 1)))
await Promise.all([redis.stop(), cluster.stop()])
process.exit(code)
