/**
 * `npm run start:sim`: the simulator alone (docker compose, benchmark, manual tries).
 * Env: SIM_HOST (127.0.0.1), SIM_PORT (8025), SIM_DOMAINS `name:key,name:key`
 * (sandbox.test:sandbox-sending-key), SIM_ACCOUNT_KEY (none; the only key that reads events),
 * SIM_MODE `full|fast` (full), SIM_EVENT_DELAY_MS (0: how long events take to show in the Events
 * API), SIM_PUBLIC_URL (the base of the Events API's paging URLs; default from the Host header).
 * Prints `mailgun-sim listening on <url>` once ready; closes on SIGTERM/SIGINT.
 */
import { startSimulator, type SimDomain, type SimulatorOptions } from './server.js'

function fail (message: string): never {
  process.stderr.write(`mailgun-sim: ${message}\n`)
  process.exit(1)
}

function domainsOf (value: string): SimDomain[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean).map((pair) => {
    const colon = pair.indexOf(':')
    if (colon <= 0 || colon === pair.length - 1) fail(`SIM_DOMAINS: "${pair.split(':')[0] ?? ''}" is not name:key`)
    return { name: pair.slice(0, colon), sendingKey: pair.slice(colon + 1) }
  })
}

const env = process.env
const port = Number(env.SIM_PORT ?? 8025)
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`SIM_PORT: "${env.SIM_PORT}" is not a port`)
const mode = env.SIM_MODE ?? 'full'
if (mode !== 'full' && mode !== 'fast') fail(`SIM_MODE: "${mode}" is not full or fast`)
const domains = domainsOf(env.SIM_DOMAINS ?? 'sandbox.test:sandbox-sending-key')
if (domains.length === 0) fail('SIM_DOMAINS: no domain given')

const eventDelayMs = Number(env.SIM_EVENT_DELAY_MS ?? 0)
if (!Number.isInteger(eventDelayMs) || eventDelayMs < 0) fail(`SIM_EVENT_DELAY_MS: "${env.SIM_EVENT_DELAY_MS}" is not a whole number of milliseconds`)
if (env.SIM_PUBLIC_URL && !/^https?:\/\/[^/]+\/?$/.test(env.SIM_PUBLIC_URL)) fail(`SIM_PUBLIC_URL: "${env.SIM_PUBLIC_URL}" is not http(s)://host[:port]`)

const opts: SimulatorOptions = { host: env.SIM_HOST || '127.0.0.1', port, domains, mode, eventDelayMs }
if (env.SIM_ACCOUNT_KEY) opts.accountKey = env.SIM_ACCOUNT_KEY
if (env.SIM_PUBLIC_URL) opts.publicUrl = env.SIM_PUBLIC_URL
const sim = await startSimulator(opts)
process.stdout.write(`mailgun-sim listening on ${sim.url}\n`)

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  sim.close().then(() => process.exit(0), () => process.exit(1))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
