/**
 * Mailgun's limits on one send (mailgun-api.md §1 "Limits"), checked at ingest so the caller
 * hears of a refusal now rather than as a failed record later. Where Mailgun's words allow two
 * readings, the stricter one is used: a message mailqueue accepts must not be one Mailgun refuses.
 */

/** Recipients per request: "Too many recipients, max is 1000". Counted over to, cc and bcc together. */
export const MAX_RECIPIENTS = 1000

/** `recipient-variables` entries (Mailgun's OpenAPI: 1,000 max). */
export const MAX_RECIPIENT_VARIABLES = 1000

/** Tags per message. */
export const MAX_TAGS = 3

/** Characters per tag. */
export const MAX_TAG_LENGTH = 128

/**
 * "Send options (parameters starting with o:, h:, or v:) are limited to 16 kB total". Read
 * strictly: 16,000 bytes of names and values, `t:` fields included (Mailgun's OpenAPI counts them),
 * and the `h:Message-Id` mailqueue adds.
 */
export const MAX_SEND_OPTIONS_BYTES = 16_000

/** "Maximum message size: 25 MB", as 25,000,000 bytes of decoded text, html, amp-html and files. */
export const MAX_MESSAGE_BYTES = 25_000_000

/** The phrase (after the field's name) of a 413 for a message over MAX_MESSAGE_BYTES. */
export const MESSAGE_TOO_LARGE = "brings the message (text, html, amp-html and files) over Mailgun's limit of 25 MB"

/** Mailgun's request limit ("413 request size exceeds 52.4MiB limit"): /v3 bodies are never read past it. */
export const MAX_REQUEST_BYTES = 52_428_800

/** Fields Mailgun counts as send options. */
export function isSendOption (name: string): boolean {
  if (name.charCodeAt(1) !== 58 /* : */) return false
  const c = name.charCodeAt(0) | 0x20
  return c === 0x6f /* o */ || c === 0x68 /* h */ || c === 0x76 /* v */ || c === 0x74 /* t */
}

/** Why a tag is refused, or null: Mailgun's tags are ASCII, at most 128 characters. */
export function tagProblem (tag: string): string | null {
  if (tag.length === 0 || tag.length > MAX_TAG_LENGTH) return `must be 1 to ${MAX_TAG_LENGTH} characters`
  return /^[\x20-\x7e]+$/.test(tag) ? null : 'must be printable ASCII (Mailgun tags are ASCII only)'
}
