import { Type, type TProperties } from '@sinclair/typebox'
import { UnavailableSchema } from './errors.js'

/**
 * Documentation of the Mailgun-compatible routes (`/v3/:domain/messages[.mime]`), in Mailgun's
 * own field names. The request bodies go under `documentedBody`: shown in /docs, never validated
 * (the route reads the form itself and answers with Mailgun's own messages).
 */

const Text = (description: string) => Type.Optional(Type.String({ description }))
/** A field that may repeat (form encoding has no arrays). */
const Repeated = (description: string) => Type.Array(Type.String(), { description: `${description}; repeat the field for more` })
const YesNo = (description: string) => Type.Optional(Type.String({ description: `${description}: yes or no` }))
const File = (description: string) => Type.String({ format: 'binary', description })
const To = Repeated('recipient; a comma-separated list also works')

/** What both endpoints take besides the message itself: sending options, headers, variables. */
const OPTIONS: TProperties = {
  'o:tag': Type.Optional(Repeated('a tag (at most 3)')),
  'o:deliverytime': Text('when Mailgun should deliver it, RFC 2822 (Mailgun holds it, not mailqueue)'),
  'o:dkim': YesNo('DKIM-sign'),
  'o:testmode': YesNo('Mailgun accepts but does not deliver'),
  'o:tracking': YesNo('tracking'),
  'o:tracking-clicks': Text('click tracking: yes, no or htmlonly'),
  'o:tracking-opens': YesNo('open tracking'),
  'o:require-tls': YesNo('deliver only over TLS'),
  'o:skip-verification': YesNo('skip TLS certificate verification'),
  'h:X-My-Header': Text('any MIME header, as h:<Header-Name>; a valid h:Message-Id is kept, otherwise mailqueue sets its own'),
  'v:my-var': Text('a custom variable, as v:<name>; comes back in events and webhooks'),
  'recipient-variables': Text('JSON object of variables per recipient, for batch sending')
}

const MESSAGE: TProperties = {
  from: Type.String({ description: 'sender address, e.g. "Shop <shop@mg.example.com>"' }),
  to: To,
  cc: Type.Optional(Repeated('copy recipient')),
  bcc: Type.Optional(Repeated('blind copy recipient')),
  subject: Text('subject'),
  text: Text('plain text body'),
  html: Text('HTML body'),
  'amp-html': Text('AMP body'),
  template: Text('name of a Mailgun template'),
  't:version': Text('template version'),
  't:text': YesNo('render a text part from the template'),
  't:variables': Text('JSON object of template variables'),
  ...OPTIONS
}

const FILES: TProperties = {
  attachment: Type.Optional(Type.Array(File('a file'), { description: 'a file attachment; repeat for more' })),
  inline: Type.Optional(Type.Array(File('an image'), { description: 'an inline image (cid:<filename>); repeat for more' }))
}

const formOf = (properties: TProperties, description: string) => Type.Object(properties, { description, additionalProperties: true })

const DomainParams = Type.Object({ domain: Type.String({ description: 'the sending domain, one of mailqueue\'s configured domains' }) })

const MailgunError = (description: string) => Type.Object({ message: Type.String(), code: Type.Optional(Type.String()) }, { description })

/** Mailgun's answers, as the route gives them. */
const ANSWERS = {
  200: Type.Object({
    id: Type.String({ description: 'the Message-Id, <…@domain>' }),
    message: Type.String({ description: '"Queued. Thank you."' })
  }, { description: 'Queued (durably in Redis); Mailgun\'s own answer shape' }),
  400: MailgunError('Mailgun\'s own refusal, e.g. "from parameter is missing"; nothing queued'),
  401: { description: 'Missing or unknown key: the text "Forbidden", as Mailgun answers', content: { 'text/plain': { schema: Type.String() } } },
  403: MailgunError('This key may not send for this domain'),
  404: MailgunError('"Domain not found: <domain>"'),
  413: MailgunError('The request is larger than Mailgun\'s 52.4 MiB limit'),
  503: UnavailableSchema
}

const shared = {
  params: DomainParams,
  response: ANSWERS
}

export const mailgunMessagesDocs = {
  ...shared,
  summary: 'Queue a message, Mailgun-style',
  description: 'The drop-in for Mailgun\'s POST /v3/{domain}/messages: same fields, encodings and answers. An application using an official Mailgun SDK changes only its base URL and key. Files need multipart/form-data.',
  documentedBody: {
    content: {
      'multipart/form-data': { schema: formOf({ ...MESSAGE, ...FILES }, 'the message as form fields and files') },
      'application/x-www-form-urlencoded': { schema: formOf(MESSAGE, 'the message as form fields (no files)') }
    }
  }
}

export const mailgunMimeDocs = {
  ...shared,
  summary: 'Queue a ready-made MIME message, Mailgun-style',
  description: 'The drop-in for Mailgun\'s POST /v3/{domain}/messages.mime: the whole MIME message as the file `message`, the envelope recipients as `to`.',
  documentedBody: {
    content: {
      'multipart/form-data': {
        schema: formOf({ to: To, message: File('the MIME message'), ...OPTIONS }, 'recipients, the MIME file and options')
      }
    }
  }
}
