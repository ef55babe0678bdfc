import { ValueErrorType, type ValueError } from '@sinclair/typebox/value'

/** `domains[1].region` from a JSON pointer such as `/domains/1/region`. */
export function fieldPath (pointer: string, root = ''): string {
  const parts = pointer.split('/').filter(Boolean)
  let out = root
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : (out ? `.${p}` : p)
  return out || '(root)'
}

/** One readable phrase for a schema error, naming the field: `domains[1].region must be "us" or "eu"`. */
export function describeSchemaError (err: ValueError, root = ''): string {
  const field = fieldPath(err.path, root)
  const s = err.schema as { anyOf?: Array<{ const?: unknown }>, maxItems?: number, minItems?: number, maxLength?: number, minLength?: number }
  switch (err.type) {
    case ValueErrorType.Union:
      if (s.anyOf?.every((a) => a.const !== undefined)) return `${field} must be ${s.anyOf.map((a) => JSON.stringify(a.const)).join(' or ')}`
      break
    case ValueErrorType.ObjectRequiredProperty: return `${field} is required`
    case ValueErrorType.ObjectAdditionalProperties: return `${field} is not a known field`
    case ValueErrorType.StringPattern: return `${field} has the wrong format`
    case ValueErrorType.StringMinLength: return `${field} must not be shorter than ${s.minLength} characters`
    case ValueErrorType.StringMaxLength: return `${field} must not be longer than ${s.maxLength} characters`
    case ValueErrorType.ArrayMinItems: return `${field} needs at least ${s.minItems} item(s)`
    case ValueErrorType.ArrayMaxItems: return `${field} allows at most ${s.maxItems} item(s)`
    case ValueErrorType.Integer: return `${field} must be an integer`
    case ValueErrorType.Number: return `${field} must be a number`
    case ValueErrorType.String: return `${field} must be a string`
    case ValueErrorType.Boolean: return `${field} must be a boolean`
    case ValueErrorType.Array: return `${field} must be an array`
    case ValueErrorType.Object: return `${field} must be an object`
  }
  return `${field} ${err.message.toLowerCase()}`
}
