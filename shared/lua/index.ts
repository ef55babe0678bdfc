import { readFileSync } from 'node:fs'

/** A BullMQ command script as the installed bullmq ships it (`bullmq/dist/esm/scripts/*.js`), includes resolved. */
export interface BullmqScript { readonly content: string }

/**
 * The text of a script of this folder; each file's header states its KEYS, ARGV and output.
 * A line `-- INCLUDE <name>` becomes the fragment `includes/<name>.lua` (functions scripts share),
 * and with `bullmq` given, a line `-- BULLMQ <name>` becomes that BullMQ script's text, to paste
 * BullMQ's own scripts into a function body and move jobs exactly as BullMQ does.
 */
export function luaScript (file: string, bullmq?: Readonly<Record<string, BullmqScript>>): string {
  let text = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8')
    .replace(/^ *-- INCLUDE (\w+)$/gm, (_line, name: string) => readFileSync(new URL(`./includes/${name}.lua`, import.meta.url), 'utf8'))
  if (bullmq) {
    text = text.replace(/^ *-- BULLMQ (\w+)$/gm, (_line, name: string) => {
      const script = bullmq[name]
      if (!script) throw new Error(`${file}: no BullMQ script ${name}`)
      return script.content
    })
  }
  return text
}
