/**
 * Every Redis key mailqueue writes besides BullMQ's own (BullMQ uses the same prefix for its queue
 * keys). One place, so names never drift between the API and the worker.
 */
export interface Keys {
  readonly prefix: string
  /** String: the record as JSON lines, one per outcome, oldest first (see recordOutcomes-3.lua). */
  record(id: string): string
  /** List: provider events from webhooks (JSON), oldest first. */
  events(id: string): string
  /** String: the first answer given to (client, Idempotency-Key). */
  idempotency(client: string, key: string): string
  /** Stream: every outcome (field `outcome`: the record's fields and the history entry it added, as JSON). */
  readonly outcomes: string
  /** Hash: cluster-wide counters by `<what>|<region>|<domain>`, read by /metrics. */
  readonly stats: string
  /** Hash: `domain:<name>` / `region:<name>` → JSON hold ({reason, since}). */
  readonly holds: string
  /** Set: ids of jobs deferred because their domain is held, promoted on resume. */
  heldJobs(domain: string): string
  /**
   * Sorted set: ids of a region's failed messages scored by failure time (epoch ms), for
   * `GET /v1/messages?status=failed` and replay. Entries live as long as their records.
   */
  failed(region: string): string
  /** String: epoch ms when a worker last finished a job of the region (the consumer heartbeat). */
  progress(region: string): string
}

export function createKeys (prefix: string): Keys {
  return {
    prefix,
    record: (id) => `${prefix}:rec:${id}`,
    events: (id) => `${prefix}:ev:${id}`,
    idempotency: (client, key) => `${prefix}:idem:${client}:${key}`,
    outcomes: `${prefix}:outcomes`,
    stats: `${prefix}:stats`,
    holds: `${prefix}:holds`,
    heldJobs: (domain) => `${prefix}:held:${domain}`,
    progress: (region) => `${prefix}:progress:${region}`,
    failed: (region) => `${prefix}:failed:${region}`
  }
}
