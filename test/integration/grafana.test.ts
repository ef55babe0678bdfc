import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parser } from '@prometheus-io/lezer-promql'
import { parse as parseYaml } from 'yaml'
import { createLogger } from '../../shared/logger.js'
import { createMetrics } from '../../shared/metrics.js'
import { buildWorkerHttp } from '../../services/worker/http.js'
import { seriesNames } from '../helpers/prometheus.js'
import { accept, eventually, startStack, statusesOf, type Stack } from '../helpers/stack.js'

const dir = new URL('../../deploy/grafana/', import.meta.url)
const dashboard = JSON.parse(readFileSync(new URL('mailqueue-dashboard.json', dir), 'utf8')) as Dashboard
const alerts = parseYaml(readFileSync(new URL('alerts.yml', dir), 'utf8')) as { groups: Array<{ name: string, rules: Rule[] }> }

interface Target { expr: string, datasource?: { uid?: string } }
interface Panel { type: string, title: string, id: number, datasource?: { uid?: string }, targets?: Target[], panels?: Panel[] }
interface Dashboard { uid: string, title: string, panels: Panel[], templating: { list: Array<{ name: string, type: string, query: unknown, datasource?: { uid?: string } }> } }
interface Rule { alert: string, expr: string, for?: string, labels?: { severity?: string }, annotations?: { summary?: string, description?: string } }

/** Series Prometheus makes itself for every scrape target, which no process exposes. */
const PROMETHEUS_OWN = new Set(['up'])

/** Every metric name a PromQL expression selects; a syntax error fails. Grafana's $__ variables become a duration. */
function metricsIn (expr: string): string[] {
  const promql = expr.replace(/\$__(rate_)?interval|\$__range/g, '5m')
  const names: string[] = []
  const cursor = parser.parse(promql).cursor()
  do {
    assert.ok(!cursor.type.isError, `PromQL syntax error at ${cursor.from} in: ${promql}`)
    if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') names.push(promql.slice(cursor.from, cursor.to))
  } while (cursor.next())
  assert.ok(names.length > 0, `no metric in: ${promql}`)
  return names
}

const panelsOf = (list: Panel[]): Panel[] => list.flatMap((p) => [p, ...panelsOf(p.panels ?? [])])
const dashboardQueries = (): string[] => [
  ...panelsOf(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  // label_values(metric, label) of the template variables
  ...dashboard.templating.list.flatMap((v) => v.type === 'query' ? [/^label_values\((\w+),/.exec((v.query as { query: string }).query)?.[1] ?? 'malformed{'] : [])
]
const alertRules = (): Rule[] => alerts.groups.flatMap((g) => g.rules)

// What the processes expose: a stack's API (which also runs a worker in-process, as npm start
// does) after real traffic, and a worker process's own registry served by its HTTP app.
let stack: Stack
let exposed: Set<string>
before(async () => {
  stack = await startStack()
  const sent = await accept(stack, 'mg.example.com', 3)
  await eventually(async () => (await statusesOf(stack, sent.map((m) => m.id))).every((s) => s === 'sent') || undefined, 'sent')
  const api = await stack.api.inject({ url: '/metrics' })
  const workerHttp = buildWorkerHttp({ links: stack.links, metrics: createMetrics(null), logger: createLogger('silent'), stopping: () => false })
  const worker = await workerHttp.inject({ url: '/metrics' })
  await workerHttp.close()
  exposed = new Set([...seriesNames(api.body), ...seriesNames(worker.body)])
})
after(async () => { await stack.close() })

test('every metric the dashboard and the alert rules use is one the processes expose', () => {
  const used = [...dashboardQueries().flatMap((q) => /[({]/.test(q) ? metricsIn(q) : [q]), ...alertRules().flatMap((r) => metricsIn(r.expr))]
  assert.ok(exposed.has('mailqueue_outcomes_total') && exposed.has('process_cpu_seconds_total'), 'the scrape itself was read')
  const unknown = [...new Set(used)].filter((name) => !exposed.has(name) && !PROMETHEUS_OWN.has(name))
  assert.deepEqual(unknown, [])
  // And the dashboard covers what an operator watches.
  for (const name of ['mailqueue_accepted_total', 'mailqueue_outcomes_total', 'mailqueue_queue_depth', 'mailqueue_queue_oldest_waiting_seconds',
    'mailqueue_domain_held', 'mailqueue_send_duration_seconds_bucket', 'process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds']) {
    assert.ok(dashboardQueries().some((q) => q.includes(name)), `the dashboard shows ${name}`)
  }
})

test('the dashboard takes its Prometheus datasource as a variable', () => {
  assert.equal(dashboard.uid, 'mailqueue')
  const variable = dashboard.templating.list.find((v) => v.type === 'datasource')
  assert.equal(variable?.query, 'prometheus')
  const ref = `\${${variable?.name}}`
  const panels = panelsOf(dashboard.panels).filter((p) => p.type !== 'row')
  assert.equal(new Set(panelsOf(dashboard.panels).map((p) => p.id)).size, panelsOf(dashboard.panels).length, 'panel ids are unique')
  for (const p of panels) {
    assert.equal(p.datasource?.uid, ref, `${p.title} uses the variable`)
    for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, ref, `${p.title} query uses the variable`)
  }
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) assert.equal(v.datasource?.uid, ref, `$${v.name} uses the variable`)
})

test('alert rules: lag, failure rate, a held domain, no consumer and a target down, each explained', () => {
  const rules = alertRules()
  for (const name of ['MailqueueQueueLagHigh', 'MailqueueFailureRateHigh', 'MailqueueDomainHeld', 'MailqueueNoConsumer', 'MailqueueTargetDown']) {
    assert.ok(rules.some((r) => r.alert === name), `${name} is defined`)
  }
  for (const r of rules) {
    assert.match(r.for ?? '', /^\d+[smh]$/, `${r.alert} waits before firing`)
    assert.ok(['page', 'warning'].includes(r.labels?.severity ?? ''), `${r.alert} has a severity`)
    assert.ok(r.annotations?.summary && r.annotations.description, `${r.alert} says what happened and what to do`)
  }
})
