/** `npm run start:sim`: the simulator alone (docker compose, benchmark, manual tries). */
import { startSimulator } from './server.js'

const env = process.env
const domains = (env.SIM_DOMAINS ?? 'sandbox.test:sandbox-sending-key').split(',').map((pair) => {
  const colon = pair.indexOf(':')
  return { name: pair.slice(0, colon), sendingKey: pair.slice(colon + 1) }
})
const sim = await startSimulator({
  host: env.SIM_HOST ?? '127.0.0.1',
  port: Number(env.SIM_PORT ?? 8025),
  domains,
  ...(env.SIM_ACCOUNT_KEY ? { accountKey: env.SIM_ACCOUNT_KEY } : {}),
  mode: env.SIM_MODE === 'fast' ? 'fast' : 'full'
})
process.stdout.write(`mailgun-sim listening on ${sim.url}\n`)
const stop = (): void => { void sim.close().then(() => process.exit(0)) }
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
