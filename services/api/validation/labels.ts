/**
 * Field names in error messages, as the caller wrote them: `to[3]`, `headers.X-A`,
 * `messages[4].to[0]`, `h:Reply-To`. A name that is not plain printable ASCII (one holding CR/LF,
 * spaces or other characters) is shown JSON-quoted, so the message stays one readable line; a
 * very long one is cut.
 */
const PLAIN = /^[!-~]{1,100}$/
const MAX_SHOWN = 100

function quoted (name: string): string {
  return JSON.stringify(name.length > MAX_SHOWN ? name.slice(0, MAX_SHOWN) + '…' : name)
}

/** `parent.key`, or `parent["key"]` for a key that is not plain; `key` alone at the root. */
export function keyLabel (parent: string, key: string): string {
  if (PLAIN.test(key)) return parent === '' ? key : `${parent}.${key}`
  return `${parent}[${quoted(key)}]`
}

/** A form field's name (/v3): as is, or JSON-quoted after its `x:` prefix when not plain (`h:"X-A\r\n…"`). */
export function nameLabel (name: string): string {
  if (PLAIN.test(name)) return name
  const prefixed = /^[a-z]:/i.test(name)
  return prefixed ? name.slice(0, 2) + quoted(name.slice(2)) : quoted(name)
}

/** `label` inside `root` (a batch item such as `messages[4]`): `messages[4].to[0]`. */
export function within (root: string, label: string): string {
  if (root === '') return label
  return label.startsWith('[') ? root + label : `${root}.${label}`
}
