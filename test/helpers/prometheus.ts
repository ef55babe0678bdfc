/** Reading Prometheus text exposition (what GET /metrics answers) in tests. */

export interface Sample { name: string, labels: Record<string, string>, value: number }

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function samples (text: string): Sample[] {
  return text.split('\n').flatMap((line) => {
    const m = SAMPLE.exec(line)
    if (!m || line.startsWith('#')) return []
    const labels: Record<string, string> = {}
    for (const [, key, value] of (m[2] ?? '').matchAll(LABEL)) labels[key as string] = (value as string).replace(/\\(.)/g, (_, c: string) => c === 'n' ? '\n' : c)
    return [{ name: m[1] as string, labels, value: Number(m[3]) }]
  })
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
export function sampleValue (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort())
  return samples(text).find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value
}

/**
 * Every series name a scrape can hold: those with samples, and those its `# TYPE` lines announce
 * (a histogram's `_bucket`, `_sum` and `_count` too), so a metric with no samples yet still counts.
 */
export function seriesNames (text: string): Set<string> {
  const names = new Set(samples(text).map((s) => s.name))
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name as string)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`)
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`)
  }
  return names
}
