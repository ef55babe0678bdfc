/**
 * Every Redis key mailqueue writes besides BullMQ's own. One place, so names never drift between
 * the API and the worker. Keys of a message (its record, events, index entries) live in its
 * partition's space, the hash slot of its BullMQ queue, so one script can write them together
 * with the job on a Redis Cluster; everything else is one key per command and may live anywhere.
 */
import { createHash } from 'node:crypto'

/** Keys of one partition: `space` is `<prefix>` or `<prefix>:{<tag>}` (see shared/partitions.ts). */
export interface PartitionKeys {
  /** BullMQ's prefix for the partition's queue; every key below shares its hash slot. */
  readonly space: string
  /** String: the record as JSON lines, one per outcome, oldest first (see recordOutcomes-5.lua). */
  record(id: string): string
  /** List: provider events from webhooks (JSON), oldest first. */
  events(id: string): string
  /** Stream: every outcome (field `outcome`: the record's fields and the history entry it added, as JSON). */
  readonly outcomes: string
  /** Hash: counters by `<what>|<region>|<domain>`, read by /metrics. */
  readonly stats: string
  /**
   * Sorted set: ids of failed messages scored by failure time (epoch ms), for
   * `GET /v1/messages?status=failed` and replay. Entries live as long as their records.
   */
  readonly failed: string
  /**
   * Sorted set: every message by creation (epoch ms), for listing any status newest first.
   * Written by the ingest script with the job, trimmed there to the record TTL.
   */
  readonly created: string
  /**
   * String: the id of the message whose caller-chosen Message-Id hashes to `hash` (hex SHA-256 of
   * the Message-Id without angle brackets). Our own `<local@domain>` needs none.
   */
  messageId(hash: string): string
  /** Sorted set: ids of messages with a future sendAt, scored by it, until a worker first takes them. */
  readonly scheduled: string
  /**
   * Sorted set: ids of parked held messages (a domain or region hold), scored by when they became
   * held (epoch ms). A release promotes its members; the dashboard counts them.
   */
  readonly held: string
  /** Hash: `<status>|<domain>` → sent and failed counts of one minute (epoch minute), kept 2 hours. */
  minute(epochMinute: number): string
  /** Hash: a message's file contents, field `<index>` → bytes of files[index] of its job. */
  files(id: string): string
}

/** Keys of a region that are read and written one at a time (any hash slot). */
export interface RegionKeys {
  readonly prefix: string
  /** String: the first answer given to (client, Idempotency-Key). */
  idempotency(client: string, key: string): string
  /** Hash: `domain:<name>` / `region:<name>` → JSON hold ({reason, since}). */
  readonly holds: string
  /** Set: ids of jobs parked because their domain is held, promoted on resume. */
  heldJobs(domain: string): string
  /** String: the id of the message a worker sends as the region's outage probe (SET NX PX: one at a time). */
  readonly probeLease: string
  /** String: epoch ms when a worker last finished a job of the region (the consumer heartbeat). */
  readonly progress: string
  /** Hash: a domain's send-rate token bucket (see takeRateToken-1.lua). */
  rate(domain: string): string
  /** Hash: a client's ingest-rate token bucket (same script), in the first configured region only. */
  clientRate(client: string): string
  /** String: a webhook token already seen (replay guard). */
  webhookToken(token: string): string
  /** Set: every QUEUE_PARTITIONS value the region's messages were written with; workers serve them all. */
  readonly layouts: string
}

export function partitionKeys (space: string, region: string): PartitionKeys {
  return {
    space,
    record: (id) => `${space}:rec:${id}`,
    events: (id) => `${space}:ev:${id}`,
    outcomes: `${space}:outcomes`,
    stats: `${space}:stats`,
    failed: `${space}:failed:${region}`,
    created: `${space}:created:${region}`,
    messageId: (hash) => `${space}:mid:${hash}`,
    scheduled: `${space}:scheduled:${region}`,
    held: `${space}:held:${region}`,
    minute: (epochMinute) => `${space}:min:${epochMinute}`,
    files: (id) => `${space}:files:${id}`
  }
}

export function regionKeys (prefix: string, region: string): RegionKeys {
  return {
    prefix,
    idempotency: (client, key) => `${prefix}:idem:${client}:${key}`,
    holds: `${prefix}:holds`,
    heldJobs: (domain) => `${prefix}:held:${domain}`,
    probeLease: `${prefix}:probe:${region}`,
    progress: `${prefix}:progress:${region}`,
    rate: (domain) => `${prefix}:rate:${domain}`,
    clientRate: (client) => `${prefix}:client-rate:${client}`,
    webhookToken: (token) => `${prefix}:webhook-token:${token}`,
    layouts: `${prefix}:layouts:${region}`
  }
}

/** A Message-Id trimmed and without its angle brackets: `<a@b>` and ` a@b ` are one. */
export function bareMessageId (messageId: string): string {
  return messageId.trim().replace(/^<|>$/g, '').trim()
}

/** The key hash of a Message-Id a caller chose: hex SHA-256 of bareMessageId(messageId). */
export function messageIdHash (messageId: string): string {
  return createHash('sha256').update(bareMessageId(messageId)).digest('hex')
}
