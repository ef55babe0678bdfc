import { readFileSync } from 'node:fs'

/** The text of a script of this folder; each file's header states its KEYS, ARGV and output. */
export function luaScript (file: string): string {
  return readFileSync(new URL(`./${file}`, import.meta.url), 'utf8')
}
