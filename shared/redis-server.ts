import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'

export interface RedisServerOptions {
  /** Directory for the append-only file; omit for a throwaway in-memory server. */
  dir?: string
  /** Fixed port; omit to take a free one. */
  port?: number
  /** More redis-server arguments (e.g. cluster mode). */
  args?: string[]
  /**
   * Run it in a process group of its own: a terminal's Ctrl-C (SIGINT to the whole foreground
   * group) then reaches only the parent, which stops this server after draining its own work.
   */
  ownProcessGroup?: boolean
}

export interface RedisServerHandle {
  url: string
  port: number
  /** The child process, exposed so failure tests can kill or restart it. */
  process: ChildProcess
  stop(signal?: NodeJS.Signals): Promise<void>
}

export const REDIS_MISSING_HINT =
  'redis-server was not found on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server, macOS: brew install redis) or set REDIS_URL'

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => { typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')) })
    })
  })
}

/**
 * Starts a private redis-server on loopback and resolves once it accepts connections. When this
 * process exits for any reason it can catch (process.exit, an uncaught error) while the server
 * still runs, the server gets SIGTERM, which makes it write its append-only file and exit.
 */
export async function startRedisServer (opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const port = opts.port ?? await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--maxmemory-policy', 'noeviction']
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true })
    args.push('--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', opts.dir)
  } else {
    args.push('--appendonly', 'no')
  }
  args.push(...opts.args ?? [])
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.ownProcessGroup === true })
  const stopOnExit = (): void => { child.kill('SIGTERM') }
  process.once('exit', stopOnExit)
  for (const event of ['exit', 'error']) child.once(event, () => { process.off('exit', stopOnExit) })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    const onData = (chunk: Buffer): void => {
      out += chunk.toString()
      if (out.includes('Ready to accept connections')) { child.stdout?.off('data', onData); resolve() }
    }
    child.stdout?.on('data', onData)
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new Error(REDIS_MISSING_HINT) : err)
    })
    child.once('exit', (code) => { reject(new Error(`redis-server exited with code ${code}: ${out.slice(-500)}`)) })
  })
  child.stdout?.resume()
  child.stderr?.resume()
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill(signal) })
  }
  return { url: `redis://127.0.0.1:${port}`, port, process: child, stop }
}
