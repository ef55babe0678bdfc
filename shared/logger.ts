import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino'
import type { LogFormat } from './config-schema.js'

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

const options = (level: string): LoggerOptions => ({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } })

/** A JSON logger, to stdout or to `destination`. */
export function createLogger (level: string, destination?: DestinationStream): Logger {
  return destination ? pino(options(level), destination) : pino(options(level))
}

/** LOG_FORMAT when set; otherwise pretty when a person watches stdout (a terminal), JSON when not. */
export function logFormatFor (configured: LogFormat | null, stdout: { isTTY?: boolean }): LogFormat {
  return configured ?? (stdout.isTTY === true ? 'pretty' : 'json')
}

/**
 * Entry files: the process's logger on stdout in the format `logFormatFor` picks. Pretty lines are
 * made by pino-pretty in pino's transport thread, from lines already redacted; JSON processes
 * never load it.
 */
export function createProcessLogger (config: { logLevel: string, logFormat: LogFormat | null }, stdout: { isTTY?: boolean } = process.stdout): Logger {
  if (logFormatFor(config.logFormat, stdout) === 'json') return createLogger(config.logLevel)
  const pretty = pino.transport({
    target: 'pino-pretty',
    options: {
      destination: 1,
      colorize: stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,component',
      messageFormat: '{if component}{component}: {end}{msg}',
      singleLine: true
    }
  }) as DestinationStream
  return pino(options(config.logLevel), pretty)
}
