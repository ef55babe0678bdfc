/**
 * The one rule set for a send, applied to Mailgun's own form fields: /v1 turns its JSON into them
 * first (mailgun-fields.ts), /v3 receives them as they are (mailgun-form.ts). Each caller names
 * the fields its own way (`labels`), so an error says `to[3]` on /v1 and `to` on /v3.
 */
import { fileSize, type FileData } from '../../../shared/queues.js'
import { parseMailbox, parseMailboxList } from './addresses.js'
import { headerNameProblem, isAddressHeader } from './headers.js'
import { MAX_JSON_DEPTH, tooDeep } from './json-depth.js'
import {
  isSendOption, MAX_MESSAGE_BYTES, MAX_RECIPIENT_VARIABLES, MAX_RECIPIENTS, MAX_SEND_OPTIONS_BYTES, MAX_TAGS,
  MESSAGE_TOO_LARGE, tagProblem
} from './limits.js'
import { lineProblem, textProblem } from './text.js'

/** Why a send is refused: 400, or 413 for a message over Mailgun's size limit. */
export interface Refusal { status: 400 | 413, message: string }

export interface FieldLabels {
  /** The caller's name for fields[i]. */
  field(i: number): string
  /** The caller's name for files[i]. */
  file(i: number): string
}

type Kind = 'from' | 'recipients' | 'body' | 'json' | 'header' | 'tag' | 'variable' | 'line'

function kindOf (name: string): Kind {
  switch (name) {
    case 'from': return 'from'
    case 'to': case 'cc': case 'bcc': return 'recipients'
    case 'text': case 'html': case 'amp-html': return 'body'
    case 't:variables': case 'recipient-variables': return 'json'
    case 'o:tag': return 'tag'
  }
  const prefix = name.charCodeAt(1) === 58 /* : */ ? name.charCodeAt(0) | 0x20 : 0
  if (prefix === 0x68 /* h */) return 'header'
  if (prefix === 0x76 /* v */) return 'variable'
  return 'line'
}

/** Running totals over one send's fields. */
interface Totals { froms: number, recipients: number, tags: number, optionBytes: number, messageBytes: number }

/**
 * The first rule `fields` and `files` break, or null. `messageId` is the h:Message-Id the worker
 * will add, counted in the send options.
 */
export function checkSendFields (fields: ReadonlyArray<readonly [string, string]>, files: readonly FileData[],
  messageId: string, labels: FieldLabels): Refusal | null {
  const totals: Totals = { froms: 0, recipients: 0, tags: 0, optionBytes: 'h:Message-Id'.length + Buffer.byteLength(messageId), messageBytes: 0 }
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i] as readonly [string, string]
    const problem = fieldProblem(name, value, totals)
    if (problem !== null) return { status: problem === MESSAGE_TOO_LARGE ? 413 : 400, message: `${labels.field(i)} ${problem}` }
  }
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as FileData
    const problem = lineProblem(f.filename)
    if (problem) return { status: 400, message: `${labels.file(i)}.filename ${problem}` }
    const typeProblem = lineProblem(f.contentType)
    if (typeProblem) return { status: 400, message: `${labels.file(i)}.contentType ${typeProblem}` }
    totals.messageBytes += fileSize(f)
    if (totals.messageBytes > MAX_MESSAGE_BYTES) return { status: 413, message: `${labels.file(i)} ${MESSAGE_TOO_LARGE}` }
  }
  return null
}

/** Why one field is refused (MESSAGE_TOO_LARGE is a 413, any other phrase a 400), or null; adds it to the totals. */
function fieldProblem (name: string, value: string, totals: Totals): string | null {
  const nameProblem = lineProblem(name)
  if (nameProblem) return `is not a valid field name: it ${nameProblem}`
  const kind = kindOf(name)
  const valueProblem = kind === 'body' || kind === 'json' || kind === 'variable' ? textProblem(value) : lineProblem(value)
  if (valueProblem) return valueProblem
  if (isSendOption(name)) {
    totals.optionBytes += Buffer.byteLength(name) + Buffer.byteLength(value)
    if (totals.optionBytes > MAX_SEND_OPTIONS_BYTES) {
      return `brings the send options (o:, h:, v: and t: fields: options, headers, variables, tags, template) over Mailgun's limit of 16 kB`
    }
  }
  switch (kind) {
    case 'body':
      totals.messageBytes += Buffer.byteLength(value)
      return totals.messageBytes > MAX_MESSAGE_BYTES ? MESSAGE_TOO_LARGE : null
    case 'from': {
      if (++totals.froms > 1) return 'must be given once'
      const one = parseMailbox(value)
      return one.ok ? null : `is not a valid address: it ${one.problem}`
    }
    case 'recipients': {
      const list = parseMailboxList(value)
      if (!list.ok) return `is not a valid address${value.includes(',') ? ' list' : ''}: it ${list.problem}`
      totals.recipients += list.value.length
      return totals.recipients > MAX_RECIPIENTS ? `brings the recipients (to, cc and bcc together) over Mailgun's limit of ${MAX_RECIPIENTS}` : null
    }
    case 'header': {
      const header = name.slice(2)
      const bad = headerNameProblem(header)
      if (bad) return bad
      if (!isAddressHeader(header)) return null
      const list = parseMailboxList(value)
      return list.ok ? null : `is not a valid address list: it ${list.problem}`
    }
    case 'tag': {
      if (++totals.tags > MAX_TAGS) return `is one tag too many: Mailgun takes at most ${MAX_TAGS}`
      return tagProblem(value)
    }
    case 'json': return jsonProblem(name, value)
    default: return null
  }
}

/** t:variables and recipient-variables: a JSON object Mailgun can read. */
function jsonProblem (name: string, value: string): string | null {
  const deep = tooDeep(value)
  if (deep !== null) return `nests deeper than ${MAX_JSON_DEPTH} levels (at ${deep || 'the top'})`
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return 'is not valid JSON'
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'must be a JSON object'
  if (name === 'recipient-variables' && Object.keys(parsed).length > MAX_RECIPIENT_VARIABLES) {
    return `has more than ${MAX_RECIPIENT_VARIABLES} recipients`
  }
  return null
}
