import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, startRedisServer, type RedisServerHandle } from './redis-server.js'

const run = promisify(execFile)

export interface RedisClusterHandle {
  /** `127.0.0.1:port,…`: the value for REDIS_CLUSTER_NODES. */
  nodes: string
  servers: RedisServerHandle[]
  stop(): Promise<void>
}

/**
 * Starts a private Redis Cluster of `masters` masters and no replicas on loopback (tests and the
 * benchmark): redis-server in cluster mode on free ports, joined by `redis-cli --cluster create`,
 * which spreads the 16384 slots evenly. Resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster (masters = 3): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'mq-cluster-'))
  const servers: RedisServerHandle[] = []
  const stop = async (): Promise<void> => {
    await Promise.allSettled(servers.map((s) => s.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort()
      servers.push(await startRedisServer({
        port,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000']
      }))
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`)
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'])
    for (const s of servers) await waitForClusterOk(s.port)
    return { nodes: addresses.join(','), servers, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

async function waitForClusterOk (port: number): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info'])
    if (stdout.includes('cluster_state:ok')) return
    if (Date.now() > deadline) throw new Error(`redis cluster node ${port} never reached cluster_state:ok`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
