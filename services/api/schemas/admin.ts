import { Type, type Static } from '@sinclair/typebox'
import type { Status } from '../../../shared/records.js'
import { RecordSchema } from './record.js'

/** Page size of `GET /v1/messages` when no `limit` is given, and the most it may ask for. */
export const DEFAULT_PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 500

/** DELETE /v1/messages/:id. */
export const CancelledSchema = Type.Object({
  id: Type.String(),
  status: Type.Literal('cancelled')
})

/** Every status a record can have (CONTRACT.md "The message record"), as `?status=` takes them. */
export const STATUSES = ['queued', 'scheduled', 'sending', 'retrying', 'held', 'sent', 'failed', 'cancelled'] as const satisfies readonly Status[]

/**
 * GET /v1/messages. The app's ajv does not coerce types, so `limit` arrives as the string it is
 * in the URL. `status` is checked in the route, to answer with a message naming the field.
 */
export const ListQuerySchema = Type.Object({
  status: Type.Optional(Type.String({ description: `one of ${STATUSES.join(', ')}; any when omitted. failed: newest failure first; others: newest message first` })),
  domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 998, description: 'the messages with this Message-Id (ours or one the caller set), with or without angle brackets; no cursor' })),
  cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'opaque; the `cursor` of the previous page' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: `1 to ${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE}` }))
}, { additionalProperties: false })
export type ListQuery = Static<typeof ListQuerySchema>

export const RecordPageSchema = Type.Object({
  records: Type.Array(RecordSchema),
  cursor: Type.Union([Type.String(), Type.Null()], { description: 'null when there is nothing more; a page may hold fewer records than asked and still have a cursor' })
})

/** POST /v1/messages/replay: failed messages of a domain, bounded by failure time. */
export const ReplaySchema = Type.Object({
  domain: Type.String({ minLength: 1, maxLength: 253 }),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601 instant, inclusive' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601 instant, inclusive' }))
}, { additionalProperties: false })

export const ReplayedSchema = Type.Object({ replayed: Type.Integer() })

const HoldSchema = Type.Object({ reason: Type.String(), since: Type.String({ format: 'date-time' }) })

/** One configured domain as `GET /v1/domains` shows it; never its keys. */
export const DomainSchema = Type.Object({
  name: Type.String(),
  region: Type.String(),
  ratePerSecond: Type.Union([Type.Number(), Type.Null()]),
  state: Type.Union([Type.Literal('active'), Type.Literal('held')]),
  hold: Type.Optional(HoldSchema)
})
export type DomainView = Static<typeof DomainSchema>

export const DomainListSchema = Type.Object({ domains: Type.Array(DomainSchema) })

export const DomainParamsSchema = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) })

export const ResumedSchema = Type.Object({ name: Type.String(), state: Type.Literal('active') })

/** POST /v1/domains/:name/pause. The reason is shown to operators and logged: one plain line. */
export const PauseSchema = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\r\\n\\u0000]*$', description: 'why the domain is paused; no CR, LF or NUL' })
}, { additionalProperties: false })

export const PausedSchema = Type.Object({ name: Type.String(), state: Type.Literal('held'), hold: HoldSchema })

/** Messages of a region by state, summed over its partitions. */
const StatesSchema = Type.Object({
  queued: Type.Integer({ description: 'waiting to be sent now (both lanes)' }),
  scheduled: Type.Integer({ description: 'waiting for their sendAt' }),
  sending: Type.Integer({ description: 'taken by a worker' }),
  retrying: Type.Integer({ description: 'waiting for their next attempt' }),
  held: Type.Integer({ description: 'waiting for their domain or region to be released' }),
  failed: Type.Integer({ description: 'failed and on record (replayable)' })
})

const MinuteSchema = Type.Object({
  minute: Type.String({ format: 'date-time', description: 'start of the minute, UTC' }),
  sent: Type.Integer(),
  failed: Type.Integer()
})

/** GET /v1/stats. */
export const StatsSchema = Type.Object({
  regions: Type.Array(Type.Object({
    region: Type.String(),
    states: Type.Union([StatesSchema, Type.Null()], { description: 'null for a client restricted to some domains: the counts are region-wide' }),
    perMinute: Type.Array(MinuteSchema, { description: 'the last 60 minutes, oldest first, the current one included; only the client\'s domains' })
  }))
})
export type RegionStats = Static<typeof StatsSchema>['regions'][number]
