import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger } from 'pino'

/** Known places a secret could sit in a log object; the Secret wrapper is the second net. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  '*.sendingKey',
  '*.webhookSigningKey',
  '*.primaryKey',
  '*.key',
  'sendingKey',
  'webhookSigningKey',
  'primaryKey',
  'clientKey'
]

export function createLogger (level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } }
  return destination ? pino(options, destination) : pino(options)
}
