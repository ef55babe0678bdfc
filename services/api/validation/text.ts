/**
 * What text may hold. A single-line value (an address, the subject, a tag, a template name, a
 * header name or value, a file name or content type, a `v:` name, an option) ends up in a header
 * line, where CR or LF would end the line and start a header of the caller's choosing: folding
 * long lines is the encoder's job, never the caller's. Message bodies may hold line breaks. No
 * value holds NUL (RFC 5322 §2.1 and RFC 6532 §3.1 allow it nowhere) or a lone UTF-16 surrogate,
 * which has no UTF-8 form: it would reach Mailgun as U+FFFD, or stop the form encoding outright.
 */

// With the u flag a surrogate pair is one code point, so the class matches lone halves only.
const NOT_IN_LINE = /[\r\n\0]|[\uD800-\uDFFF]/u
const NOT_IN_TEXT = /\0|[\uD800-\uDFFF]/u

function describe (found: string): string {
  if (found === '\0') return 'must not contain NUL'
  if (found === '\r' || found === '\n') return 'must not contain a line break (CR or LF)'
  return 'must be valid Unicode (it has a lone surrogate)'
}

/** Why a single-line value is refused, or null. */
export function lineProblem (value: string): string | null {
  const found = NOT_IN_LINE.exec(value)
  return found ? describe(found[0]) : null
}

/** Why a message body (text, html, amp-html) or other multi-line value is refused, or null. */
export function textProblem (value: string): string | null {
  const found = NOT_IN_TEXT.exec(value)
  return found ? describe(found[0]) : null
}

/** Mailgun takes a blank value for no value: a `text` of spaces is "no text". */
export function isBlank (value: string | undefined): boolean {
  return value === undefined || value.trim() === ''
}
