import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }

/**
 * The command line an npm script runs, as the argv a container would run it with:
 * `exec node --flag dist/x.js` → ['node', '--flag', 'dist/x.js']. Deployment files run node
 * directly, with exactly these flags.
 */
export function scriptArgv (name: string): string[] {
  const script = pkg.scripts[name]
  if (script === undefined) throw new Error(`package.json has no script ${name}`)
  return script.replace(/^exec /, '').split(' ')
}
