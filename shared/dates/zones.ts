/**
 * The zone names a date may carry instead of a numeric offset, and nothing more. RFC 5322 §4.3
 * (obs-zone) defines exactly these; `UTC` is added because HTTP and many libraries write it.
 *
 * Every other abbreviation (CET, IST, BST, AEST, …) is refused by the parsers as `unknown-zone`:
 * they are ambiguous (IST is India, Israel or Ireland) or change with daylight saving, and
 * Mailgun itself warns that abbreviated zones may give the wrong offset. A date is never guessed.
 */

/** Returned by {@link zoneOffset} for a known zone whose local offset is unknown (military zones). */
export const OFFSET_UNKNOWN = 10_000
/** Returned by {@link zoneOffset} for a name that is not in the table. */
export const NOT_A_ZONE = -10_000

/**
 * The table, for documentation and tests: name → offset in minutes east of UTC, or `null` when the
 * zone is known but the writer's offset is not (RFC 5322 §4.3: the military zones were defined
 * with the wrong sign in RFC 822, so they "SHOULD all be considered equivalent to -0000").
 */
export const ZONES: Readonly<Record<string, number | null>> = Object.freeze({
  UT: 0, GMT: 0, UTC: 0,
  EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420,
  ...Object.fromEntries([...'ABCDEFGHIKLMNOPQRSTUVWXYZ'].map((c) => [c, null]))
})

/**
 * Offset in minutes of the zone name `s[start, end)`, matched case-insensitively without
 * allocating: `OFFSET_UNKNOWN` for a military letter, `NOT_A_ZONE` when the name is not known.
 * The caller has checked that the span holds ASCII letters only.
 */
export function zoneOffset (s: string, start: number, end: number): number {
  const n = end - start
  if (n === 1) {
    const c = s.charCodeAt(start) | 0x20
    return c === 0x6a /* j: not a military zone */ ? NOT_A_ZONE : OFFSET_UNKNOWN
  }
  if (n === 2) {
    return (s.charCodeAt(start) | 0x20) === 0x75 && (s.charCodeAt(start + 1) | 0x20) === 0x74 ? 0 : NOT_A_ZONE
  }
  if (n !== 3) return NOT_A_ZONE
  const key = ((s.charCodeAt(start) | 0x20) << 16) | ((s.charCodeAt(start + 1) | 0x20) << 8) | (s.charCodeAt(start + 2) | 0x20)
  switch (key) {
    case 0x676d74: return 0 // gmt
    case 0x757463: return 0 // utc
    case 0x657374: return -300 // est
    case 0x656474: return -240 // edt
    case 0x637374: return -360 // cst
    case 0x636474: return -300 // cdt
    case 0x6d7374: return -420 // mst
    case 0x6d6474: return -360 // mdt
    case 0x707374: return -480 // pst
    case 0x706474: return -420 // pdt
    default: return NOT_A_ZONE
  }
}
