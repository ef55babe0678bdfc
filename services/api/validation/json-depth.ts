import { keyLabel } from './labels.js'

/** Levels of JSON nesting accepted in a request body (the body's own object counting as one). */
export const MAX_JSON_DEPTH = 32

interface Frame { array: boolean, index: number, keyStart: number, keyEnd: number }

/**
 * Where a JSON text first nests deeper than `max` levels of objects and arrays (`variables.deep[0]…`),
 * or null. Runs before JSON.parse, in one pass that allocates one small frame per level: V8 parses very deep text slowly
 * (seconds for a few MB) and cannot stringify it again, and Redis's cjson stops at 1,000 levels.
 * Text that is not JSON passes here and is left to the parser.
 */
export function tooDeep (text: string, max = MAX_JSON_DEPTH): string | null {
  const stack: Frame[] = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      // Strings are most of a body: jump to their end rather than walk them.
      const end = stringEnd(text, i)
      if (end === -1) return null
      if (expectKey) {
        const top = stack[stack.length - 1] as Frame
        top.keyStart = i
        top.keyEnd = end + 1
        expectKey = false
      }
      i = end
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length === max) return pathOf(text, stack)
      stack.push({ array: c === 0x5b, index: 0, keyStart: -1, keyEnd: -1 })
      expectKey = c === 0x7b
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop()
      expectKey = false
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]
      if (top?.array) top.index++
      else if (top) expectKey = true
    }
  }
  return null
}

/** The index of the quote that closes the string opened at `open`, or -1. */
function stringEnd (text: string, open: number): number {
  let end = text.indexOf('"', open + 1)
  while (end !== -1) {
    let backslashes = 0
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c /* \ */) backslashes++
    if (backslashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
  return -1
}

/** The first few steps of the path the frames are in; the rest is "…". */
function pathOf (text: string, stack: Frame[]): string {
  let path = ''
  for (const [n, frame] of stack.entries()) {
    if (n === 6) return path + '…'
    if (frame.array) {
      path += `[${frame.index}]`
      continue
    }
    if (frame.keyStart < 0) return path + '…' // "{{": not JSON, but too deep to parse all the same
    let key = text.slice(frame.keyStart + 1, frame.keyEnd - 1)
    try { key = JSON.parse(text.slice(frame.keyStart, frame.keyEnd)) as string } catch { /* shown as written */ }
    path = keyLabel(path, key)
  }
  return path
}
