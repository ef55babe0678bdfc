import { DOMAIN } from './stack.js'

/** The message every ingest scenario sends: the core fields both mailqueue and the baselines accept. */
export function message (n = 0, text = 'Hello from the mailqueue benchmark.'): Record<string, unknown> {
  return {
    domain: DOMAIN,
    from: 'Bench <bench@bench.test>',
    to: ['user@example.com'],
    subject: `Benchmark message ${n}`,
    text
  }
}

/** A 1 KB text body (1,024 ASCII characters) for the Redis-bytes-per-message figure. */
export const TEXT_1KB = 'x'.repeat(1016) + ' (1 KB)'.padEnd(8, '.')

export function batch (size: number, from = 0, text?: string): { messages: Array<Record<string, unknown>> } {
  return { messages: Array.from({ length: size }, (_, i) => message(from + i, text)) }
}

export function bearer (key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` }
}
