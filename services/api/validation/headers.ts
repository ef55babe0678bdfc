/** Header fields a caller adds (`headers` on /v1, `h:` on /v3). */

/** RFC 5322 §2.2 and §3.6.8: a field name is 1*ftext, printable US-ASCII (33–126) except ":". */
const FIELD_NAME = /^[!-9;-~]+$/

/** Why a header name is refused, or null. Mailgun refuses non-ASCII names too ("Header name must be pure ASCII"). */
export function headerNameProblem (name: string): string | null {
  return FIELD_NAME.test(name) ? null : 'is not a valid header name: printable ASCII without spaces or ":" (RFC 5322 §2.2)'
}

/**
 * Headers whose value is an address list (RFC 5322 §3.6.2 `Reply-To: address-list`), checked as
 * mailboxes like `from` and `to`; mailqueue passes the value on as written.
 */
export function isAddressHeader (name: string): boolean {
  return name.length === 8 && name.toLowerCase() === 'reply-to'
}
