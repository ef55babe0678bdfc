import { connect, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface LatencyProxy {
  /** redis:// URL of the proxy, on loopback. */
  url: string
  close(): Promise<void>
}

/**
 * A TCP proxy to a Redis that holds every chunk `delayMs` in each direction: a Redis far away, or
 * a busy network. Order is kept (timers of equal delay fire in the order they were set).
 */
export async function startLatencyProxy (target: string, delayMs: number): Promise<LatencyProxy> {
  const { hostname, port } = new URL(target)
  const sockets = new Set<Socket>()
  const relay = (from: Socket, to: Socket): void => {
    from.on('data', (chunk) => { setTimeout(() => { if (!to.destroyed) to.write(chunk) }, delayMs) })
    from.on('close', () => { setTimeout(() => to.destroy(), delayMs) })
    from.on('error', () => {})
  }
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname)
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)) }
    relay(client, upstream)
    relay(upstream, client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
