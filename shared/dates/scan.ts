/**
 * Character-level helpers shared by the parsers: comments and folding white space (RFC 5322
 * §3.2.2), name lookups by packed char codes. Nothing here allocates.
 */

export function isAlpha (c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)
}

export function isDigit (c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

/** Index of the first character at or after `i` that is not an ASCII letter. */
export function alphaEnd (s: string, i: number, end: number): number {
  while (i < end && isAlpha(s.charCodeAt(i))) i++
  return i
}

/**
 * Skips CFWS (RFC 5322 §3.2.2): spaces, tabs, a line fold (CRLF or a bare LF, followed by a space
 * or tab) and comments, which nest and may hold quoted pairs (`\)`). Returns the index of the next
 * other character, or -1 when a comment is not closed before `end`. A CR or LF that is not part of
 * a fold is left for the caller to refuse.
 */
export function skipCfws (s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i)
    if (c === 0x20 || c === 0x09) {
      i++
    } else if (c === 0x28) { // (
      let depth = 1
      i++
      while (depth > 0) {
        if (i >= end) return -1
        const d = s.charCodeAt(i++)
        if (d === 0x5c) i++ // quoted-pair
        else if (d === 0x28) depth++
        else if (d === 0x29) depth--
      }
    } else if (c === 0x0d || c === 0x0a) {
      const lf = c === 0x0d ? i + 1 : i
      if (lf >= end || s.charCodeAt(lf) !== 0x0a) return i
      const w = lf + 1 < end ? s.charCodeAt(lf + 1) : 0
      if (w !== 0x20 && w !== 0x09) return i
      i = lf + 2
    } else {
      return i
    }
  }
  return i
}

/** `s[start, start + 3)` lower-cased and packed into one integer: `abc` → 0x616263. */
export function key3 (s: string, start: number): number {
  return ((s.charCodeAt(start) | 0x20) << 16) | ((s.charCodeAt(start + 1) | 0x20) << 8) | (s.charCodeAt(start + 2) | 0x20)
}

/** Month 1–12 of a three-letter English name in any case, or 0. The span holds letters only. */
export function monthOf (s: string, start: number, end: number): number {
  if (end - start !== 3) return 0
  switch (key3(s, start)) {
    case 0x6a616e: return 1 // jan
    case 0x666562: return 2 // feb
    case 0x6d6172: return 3 // mar
    case 0x617072: return 4 // apr
    case 0x6d6179: return 5 // may
    case 0x6a756e: return 6 // jun
    case 0x6a756c: return 7 // jul
    case 0x617567: return 8 // aug
    case 0x736570: return 9 // sep
    case 0x6f6374: return 10 // oct
    case 0x6e6f76: return 11 // nov
    case 0x646563: return 12 // dec
    default: return 0
  }
}

/** What follows the first three letters in each full day name (RFC 850 writes `Sunday`). */
const DAY_SUFFIX = ['day', 'day', 'sday', 'nesday', 'rsday', 'day', 'urday'] as const

/**
 * Day of week 0 (Sunday) – 6 of a day name in any case, abbreviated (`Sun`) or full (`Sunday`),
 * or -1. The span holds letters only.
 */
export function weekdayOf (s: string, start: number, end: number): number {
  const n = end - start
  if (n < 3) return -1
  let w: number
  switch (key3(s, start)) {
    case 0x73756e: w = 0; break // sun
    case 0x6d6f6e: w = 1; break // mon
    case 0x747565: w = 2; break // tue
    case 0x776564: w = 3; break // wed
    case 0x746875: w = 4; break // thu
    case 0x667269: w = 5; break // fri
    case 0x736174: w = 6; break // sat
    default: return -1
  }
  if (n === 3) return w
  const suffix = DAY_SUFFIX[w]!
  if (n - 3 !== suffix.length) return -1
  for (let k = 0; k < suffix.length; k++) {
    if ((s.charCodeAt(start + 3 + k) | 0x20) !== suffix.charCodeAt(k)) return -1
  }
  return w
}

/** A short quoted excerpt of the input for error messages (only built on the error path). */
export function excerpt (s: string, start: number, end: number): string {
  const stop = Math.min(end, start + 24)
  return JSON.stringify(s.slice(start, stop) + (stop < end ? '…' : ''))
}
