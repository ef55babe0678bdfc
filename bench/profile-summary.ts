/**
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile | dir> [top]`: self time by function
 * from V8 CPU profiles (as written with BENCH_CPU_PROF=<dir> npm run bench), largest first, and
 * the same grouped by package / source file — where a service's time goes, without a flame graph UI.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

function files (path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path).flatMap((f) => files(join(path, f))).filter((f) => f.endsWith('.cpuprofile'))
}

function where (url: string): string {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm?.[1]) return nm[1]
  if (url.startsWith('node:')) return url
  const repo = /\/(services|shared|bench)\/(.*)$/.exec(url)
  return repo ? `${repo[1]}/${repo[2]}` : url === '' ? '(native/vm)' : url
}

function summarize (file: string, top: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)))
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
  const byFn = new Map<string, number>()
  const byWhere = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const f = byId.get(id)?.callFrame
    if (!f) continue
    const file = where(f.url)
    const key = `${f.functionName || '(anonymous)'}  ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`
    byFn.set(key, (byFn.get(key) ?? 0) + us)
    byWhere.set(file, (byWhere.get(file) ?? 0) + us)
  }
  const show = (title: string, m: Map<string, number>): void => {
    process.stdout.write(`  ${title}\n`)
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(`  ${(100 * us / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}\n`)
    }
  }
  process.stdout.write(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled\n`)
  show('self time by package / file', byWhere)
  show('self time by function', byFn)
}

const [path, top] = process.argv.slice(2)
if (!path) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile | dir> [top]\n')
  process.exit(64)
}
for (const f of files(path)) summarize(f, Number(top ?? 20))
