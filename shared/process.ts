import { readFileSync } from 'node:fs'
import { loadConfig, type Config } from './config.js'

/** Entry files only: the config from this process's environment, or one line on stderr and exit 1. */
export function loadConfigOrExit (overrides: Record<string, string> = {}): Config {
  try {
    return loadConfig({
      env: { ...process.env, ...overrides },
      readFile: (path) => {
        try {
          return readFileSync(path, 'utf8')
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
          throw err
        }
      }
    })
  } catch (err) {
    process.stderr.write(`mailqueue: ${(err as Error).message}\n`)
    process.exit(1)
  }
}

/** start:api and start:worker: like loadConfigOrExit, but a senders file is required (no sandbox). */
export function loadSenderConfigOrExit (): Config {
  const config = loadConfigOrExit()
  if (config.configFile === null) {
    process.stderr.write('mailqueue: no config file: set CONFIG_FILE or create ./mailqueue.json (npm start runs a sandbox without one)\n')
    process.exit(1)
  }
  return config
}

/**
 * Runs `stop` once, on the first SIGTERM or SIGINT, then exits 0 (1 if stopping failed). Later
 * signals do not cut the drain short: one Ctrl-C under `npm start` arrives twice (from the
 * terminal and forwarded by npm), and the drain is bounded anyway (SEND_TIMEOUT_MS). SIGKILL
 * still ends the process at once.
 */
export function onShutdown (stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    stop(signal).then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`mailqueue: shutdown failed: ${(err as Error).message}\n`)
      process.exit(1)
    })
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}
