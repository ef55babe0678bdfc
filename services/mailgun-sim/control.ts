/**
 * The simulator's control routes under `/sim/`, for tools that drive it from another process
 * (the benchmark, docker compose, manual tries). Each one calls the Simulator's own methods:
 *
 * - `GET /sim/received`, `GET /sim/events-requests`, `GET /sim/stats` (counts of both and of
 *   `requests()`), `DELETE /sim/received` (reset), `DELETE /sim/faults`;
 * - `POST` with a JSON body: `/sim/faults` (a FaultSpec), `/sim/delay` `{ms, api?}`,
 *   `/sim/drop` and `/sim/drop-after-accept` `{count}`, `/sim/event-delay` `{ms}`,
 *   `/sim/loose-message-id` `{on}`, `/sim/date` `{value}` (a string, or null for the real date).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { faultProblem, type FaultSpec } from './faults.js'
import type { Simulator } from './types.js'

type Body = Record<string, unknown>

function reply (res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function readJson (req: IncomingMessage): Promise<Body> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { text += c })
    req.once('error', reject)
    req.once('end', () => {
      let parsed: unknown
      try { parsed = text.trim() ? JSON.parse(text) : {} } catch { return reject(new Error('the body is not JSON')) }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reject(new Error('the body is not a JSON object'))
      resolve(parsed as Body)
    })
  })
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0
const isMs = (v: unknown): v is number => typeof v === 'number' && v >= 0 && Number.isFinite(v)

type Setter = (sim: Simulator, body: Body) => string | null

/** A route whose body is `{count}`: a number of sends. */
function counted (set: (sim: Simulator, n: number) => void): Setter {
  return (sim, body) => {
    if (!isCount(body.count)) return 'count must be an integer >= 0'
    set(sim, body.count)
    return null
  }
}

/** POST routes: what is wrong with the body, or null once the switch is set. */
const SETTERS: Record<string, Setter> = {
  '/sim/faults': (sim, body) => {
    const problem = faultProblem(body)
    if (problem === null) sim.addFault(body as unknown as FaultSpec)
    return problem
  },
  '/sim/delay': (sim, body) => {
    if (!isMs(body.ms)) return 'ms must be a number >= 0'
    if (body.api !== undefined && body.api !== 'messages' && body.api !== 'events') return 'api must be "messages" or "events"'
    sim.setDelay(body.ms, body.api)
    return null
  },
  '/sim/drop': counted((sim, n) => sim.setDropConnections(n)),
  '/sim/drop-after-accept': counted((sim, n) => sim.setDropAfterAccept(n)),
  '/sim/event-delay': (sim, body) => {
    if (!isMs(body.ms)) return 'ms must be a number >= 0'
    sim.setEventDelay(body.ms)
    return null
  },
  '/sim/loose-message-id': (sim, body) => {
    if (typeof body.on !== 'boolean') return 'on must be true or false'
    sim.setLooseMessageIdFilter(body.on)
    return null
  },
  '/sim/date': (sim, body) => {
    if (body.value !== null && typeof body.value !== 'string') return 'value must be a string or null'
    sim.setDateHeader(body.value)
    return null
  }
}

async function control (req: IncomingMessage, res: ServerResponse, path: string, sim: Simulator): Promise<void> {
  const route = `${req.method ?? ''} ${path}`
  if (req.method !== 'POST') req.resume()
  if (route === 'GET /sim/received') return reply(res, 200, sim.received())
  if (route === 'GET /sim/events-requests') return reply(res, 200, sim.eventsRequests())
  if (route === 'GET /sim/stats') return reply(res, 200, sim.stats())
  if (route === 'DELETE /sim/received') { sim.reset(); return reply(res, 200, { ok: true }) }
  if (route === 'DELETE /sim/faults') { sim.clearFaults(); return reply(res, 200, { ok: true }) }
  const setter = req.method === 'POST' && Object.hasOwn(SETTERS, path) ? SETTERS[path] : undefined
  if (setter === undefined) {
    req.resume()
    return reply(res, 404, { message: `unknown control route: ${route}` })
  }
  let body: Body
  try {
    body = await readJson(req)
  } catch (err) {
    return reply(res, 400, { message: (err as Error).message })
  }
  const problem = setter(sim, body)
  reply(res, problem === null ? 200 : 400, problem === null ? { ok: true } : { message: problem })
}

/** Answers one `/sim/…` request; never throws. */
export function handleControl (req: IncomingMessage, res: ServerResponse, path: string, sim: Simulator): void {
  control(req, res, path, sim).catch((err: Error) => {
    if (!res.headersSent) reply(res, 500, { message: `simulator error: ${err.message}` })
  })
}
