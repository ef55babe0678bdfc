/**
 * The image's HEALTHCHECK (slim images have no curl): exits 0 when this container's server
 * answers `GET /readyz` with 200 on loopback, else 1. The API listens on PORT (the default
 * command and start:api), a worker on WORKER_PORT (start:worker): whichever role runs, one of
 * them answers, so one check serves every role.
 */
const ports = [process.env.PORT || '3000', process.env.WORKER_PORT || '3001']

async function ready (port: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })
    return res.ok
  } catch {
    return false
  }
}

process.exit((await Promise.all(ports.map(ready))).includes(true) ? 0 : 1)
