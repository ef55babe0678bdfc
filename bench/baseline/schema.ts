/**
 * NAIVE BASELINE — not mailqueue. The request schema a user would write for their own route:
 * a TypeBox copy of the core fields of mailqueue's message (mailqueue's real schema lives in the
 * API and validates much more). Shared by the two baseline routes so both validate the same.
 */
import { Type, type Static } from '@sinclair/typebox'

export const MessageBody = Type.Object({
  domain: Type.String({ minLength: 1 }),
  from: Type.String({ minLength: 1 }),
  to: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 1000 }),
  subject: Type.Optional(Type.String()),
  text: Type.Optional(Type.String()),
  html: Type.Optional(Type.String())
}, { additionalProperties: false })
export type MessageBody = Static<typeof MessageBody>

export const BatchBody = Type.Object({
  messages: Type.Array(MessageBody, { minItems: 1, maxItems: 1000 })
})
export type BatchBody = Static<typeof BatchBody>

export const Accepted = Type.Object({ id: Type.String(), messageId: Type.Optional(Type.String()), status: Type.String() })
export const BatchAccepted = Type.Object({
  results: Type.Array(Type.Object({ index: Type.Integer(), id: Type.String() }))
})

export function listenOptions (): { port: number, host: string } {
  return { port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' }
}
