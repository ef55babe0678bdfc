/** The simulator's public types: its options, what it records, and the handle `startSimulator` returns. */
import type { Api, FaultSpec } from './faults.js'
import type { FileInfo } from './form.js'

export interface SimDomain { name: string, sendingKey: string }

export interface SimulatorOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  domains: SimDomain[]
  /** The account (primary) key: sends for every domain, and the only key that reads events. */
  accountKey?: string
  /** fast: keeps only what a benchmark needs (no fields, no files, no events). Default full. */
  mode?: 'full' | 'fast'
  /** How long after acceptance a send's events show in the Events API, in milliseconds. Default 0. */
  eventDelayMs?: number
  /** The base of the Events API's paging URLs; default: `http://` + the request's Host header. */
  publicUrl?: string
}

export interface ReceivedMessage {
  /** Date.now() at arrival. */
  at: number
  /** Lower-cased, as in the URL. */
  domain: string
  endpoint: 'messages' | 'messages.mime'
  /** The password of the Basic auth that was accepted. */
  key: string
  /** The h:Message-Id field as sent (any letter case of the name), or null. */
  messageId: string | null
  /** Every non-file field, repeated fields in order ({} in fast mode). */
  fields: Record<string, string[]>
  /** attachment / inline / message files ([] in fast mode). */
  files: FileInfo[]
  /** 'multipart/form-data' | 'application/x-www-form-urlencoded' */
  contentType: string
}

/** One Events API read. */
export interface EventsRequest {
  /** Date.now() at arrival. */
  at: number
  /** Lower-cased, as in the URL. */
  domain: string
  /** The password of the Basic auth it came with, or null (none, or not `api:`). */
  key: string | null
  /** The status it was answered with. */
  status: number
}

export interface Simulator {
  /** 'http://127.0.0.1:PORT' */
  url: string
  /** Accepted (2xx) messages only, in arrival order (a copy). */
  received(): ReceivedMessage[]
  /** Every /v3 request that reached the server, any outcome, except Events API reads. */
  requests(): number
  /** Every Events API read, in arrival order, with the key it used (a copy). */
  eventsRequests(): EventsRequest[]
  /** The three counts without copying anything: `received().length`, `requests()`, `eventsRequests().length`. */
  stats(): { received: number, requests: number, eventsRequests: number }
  /**
   * Clears received, the logged events and both request counts, and every switch: faults, delays,
   * drops, Date override, the loose message-id filter, and the event delay (back to the
   * `eventDelayMs` option).
   */
  reset(): void
  /** Faults are checked in the order added. */
  addFault(f: FaultSpec): void
  /** Clears faults only (delays, drops and Date override stay). */
  clearFaults(): void
  /** Delay before answering every send (default) or every Events API read, in milliseconds. */
  setDelay(ms: number, api?: Api): void
  /** Destroys the socket of the next n sends without answering, before accepting them (a reset on the way in). */
  setDropConnections(n: number): void
  /** Accepts the next n sends (received, events logged) and then destroys their socket without answering. */
  setDropAfterAccept(n: number): void
  /** How long after acceptance a send's events show in the Events API, in milliseconds. */
  setEventDelay(ms: number): void
  /**
   * On: the Events API's message-id filter returns other messages' events too, as a user saw
   * Mailgun do (mailgun/mailgun.js#296); a client must check each item's message-id.
   */
  setLooseMessageIdFilter(on: boolean): void
  /** The Date header to send; null: the real current date (IMF-fixdate). */
  setDateHeader(value: string | null): void
  /** Closes the server and every keep-alive socket; idempotent. */
  close(): Promise<void>
}
