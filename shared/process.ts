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

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed). */
export function onShutdown (stop: () => Promise<void>): void {
  let stopping = false
  const handler = (): void => {
    if (stopping) return
    stopping = true
    stop().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`mailqueue: shutdown failed: ${(err as Error).message}\n`)
      process.exit(1)
    })
  }
  process.once('SIGTERM', handler)
  process.once('SIGINT', handler)
}
