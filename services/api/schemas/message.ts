import { Type, type Static } from '@sinclair/typebox'
import { BASE64_PATTERN } from '../json-files.js'

/**
 * A value that ends up in a header line. What it may hold (no CR, LF or NUL; an address that is
 * an address) is checked by the rules in validation/, shared with the Mailgun-compatible API.
 */
const Line = (opts: { minLength?: number, maxLength?: number } = {}) => Type.String({ maxLength: 998, ...opts })
const Address = Line({ minLength: 3 })
const Addresses = Type.Array(Address, { maxItems: 1000 })
const Flag = Type.Boolean()

const File = Type.Object({
  filename: Line({ minLength: 1, maxLength: 255 }),
  contentType: Type.Optional(Line({ minLength: 3, maxLength: 255 })),
  content: Type.String({ description: 'base64 (spaces and line breaks allowed)', pattern: BASE64_PATTERN })
}, { additionalProperties: false })

export const MessageOptionsSchema = Type.Object({
  deliveryTime: Type.Optional(Type.String({ description: 'ISO 8601 or RFC 2822; sent to Mailgun as o:deliverytime' })),
  testMode: Type.Optional(Flag),
  tracking: Type.Optional(Flag),
  trackingClicks: Type.Optional(Type.Union([Flag, Type.Literal('htmlonly')])),
  trackingOpens: Type.Optional(Flag),
  requireTls: Type.Optional(Flag),
  skipVerification: Type.Optional(Flag),
  dkim: Type.Optional(Flag)
}, { additionalProperties: false })

/** POST /v1/messages (CONTRACT.md "Native API"). */
export const MessageSchema = Type.Object({
  domain: Line({ minLength: 1, maxLength: 253 }),
  from: Address,
  to: Type.Array(Address, { minItems: 1, maxItems: 1000 }),
  cc: Type.Optional(Addresses),
  bcc: Type.Optional(Addresses),
  subject: Type.Optional(Line()),
  text: Type.Optional(Type.String()),
  html: Type.Optional(Type.String()),
  ampHtml: Type.Optional(Type.String()),
  template: Type.Optional(Line({ minLength: 1 })),
  templateVersion: Type.Optional(Line({ minLength: 1 })),
  templateVariables: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  tags: Type.Optional(Type.Array(Line({ minLength: 1, maxLength: 128 }), { maxItems: 3 })),
  headers: Type.Optional(Type.Record(Type.String(), Line())),
  variables: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  recipientVariables: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()))),
  attachments: Type.Optional(Type.Array(File, { maxItems: 100 })),
  inline: Type.Optional(Type.Array(File, { maxItems: 100 })),
  options: Type.Optional(MessageOptionsSchema),
  sendAt: Type.Optional(Type.String({ description: 'ISO 8601 or RFC 2822; held in our queue until then' })),
  // No `default` keyword: Ajv would add the property to every body, which costs more than all the rest of the validation.
  lane: Type.Optional(Type.Union([Type.Literal('transactional'), Type.Literal('bulk')], { description: 'transactional (the default) or bulk' }))
}, { additionalProperties: false })
export type MessageInput = Static<typeof MessageSchema>

export const AcceptedSchema = Type.Object({
  id: Type.String(),
  messageId: Type.String(),
  status: Type.Union([Type.Literal('queued'), Type.Literal('scheduled')])
})
export type Accepted = Static<typeof AcceptedSchema>

/** Every refusal: `code` is a stable MQ_ERR_* (see errors.ts). */
export const ErrorSchema = Type.Object({ message: Type.String(), code: Type.Optional(Type.String()) }, {
  description: 'Refused, nothing changed: 400 names the field, 401 missing or unknown client key, 403 domain not allowed for this key, 404 not found, 409 conflict, 422 an Idempotency-Key first used for another request (MQ_ERR_IDEMPOTENCY_MISMATCH)'
})

/** The ingest routes' one request header (read by the route itself, so documented only). */
export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    minLength: 1,
    maxLength: 255,
    description: 'Makes a retry safe for 24 h: the same key with the same request (route and body) returns the first answer (header Idempotent-Replayed: true) and completes it if it was not stored; with another request it is a 422'
  }))
})

export const BatchSchema = Type.Object({
  // Items are checked one by one in the route so one bad message does not reject the rest (207).
  messages: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 1000 })
})

/**
 * Per message, in request order: {index, id} when stored, {index, error, code} when not: refused
 * (MQ_ERR_VALIDATION, MQ_ERR_TOO_LARGE, MQ_ERR_DOMAIN_FORBIDDEN) or not stored (MQ_ERR_UNAVAILABLE:
 * retry it; MQ_ERR_OUTCOME_UNKNOWN: retry the batch with the same Idempotency-Key).
 */
export const BatchResultSchema = Type.Object({
  results: Type.Array(Type.Object({
    index: Type.Integer(),
    id: Type.Optional(Type.String()),
    error: Type.Optional(Type.String()),
    code: Type.Optional(Type.String())
  }))
}, { description: '202: every message stored; 207: some refused or not stored, each result says which' })
