import { Type } from '@sinclair/typebox'

const Iso = Type.String({ format: 'date-time' })
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

/** CONTRACT.md "The message record" (for serialisation and /docs). */
export const RecordSchema = Type.Object({
  id: Type.String(),
  messageId: Type.String(),
  domain: Type.String(),
  region: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  createdAt: Iso,
  updatedAt: Iso,
  sendAt: Type.Optional(Iso),
  sentAt: Type.Optional(Iso),
  /** provider: Mailgun's Date header; provider-event: its accepted event (an answer lost, then verified); local-clock: a Date whose zone is unknown. */
  sentAtSource: Type.Optional(Type.Union([Type.Literal('provider'), Type.Literal('provider-event'), Type.Literal('local-clock')])),
  provider: Type.Optional(Type.Object({
    status: Type.Integer(),
    id: Nullable(Type.String()),
    message: Nullable(Type.String()),
    date: Nullable(Type.String())
  })),
  error: Nullable(Type.String()),
  history: Type.Array(Type.Object({
    attempt: Type.Integer(),
    at: Iso,
    outcome: Type.String(),
    status: Type.Union([Type.Integer(), Type.Null()]),
    error: Nullable(Type.String()),
    nextAttemptAt: Nullable(Iso)
  })),
  events: Type.Array(Type.Object({ event: Type.String(), at: Iso }, { additionalProperties: true }))
})

export const IdParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) })
