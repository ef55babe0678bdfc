/**
 * deploy/k8s, offline: every document of every file the kustomization lists is checked against
 * the Kubernetes schemas (kubernetes-models) with unknown fields refused, then the rules the
 * deployment depends on: probes on both roles, the worker's grace period, the security context,
 * the config file from the ConfigMap and the keys from the Secret. A manifest kept broken in
 * test/fixtures must fail the same check.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { Deployment } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Secret, Service, type IContainer, type IPodSpec } from 'kubernetes-models/v1'
import { loadConfig } from '../../shared/config.js'
import { scriptArgv } from '../helpers/scripts.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const k8s = join(root, 'deploy/k8s')

/** The kinds mailqueue's manifests may use, each with its schema. */
const MODELS: Record<string, { prototype: { validate: () => void } }> = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 Service': Service
}

/**
 * What is wrong with one manifest, [] when nothing. Kubernetes' schemas leave objects open to
 * unknown fields (the API server drops them silently), so a misspelt field would pass the schema
 * alone. The compiled validators read every field their schema knows, and only those: the
 * document is handed to them behind proxies that note each field read, and a field never read
 * is one the schema does not know.
 */
function manifestProblems (doc: unknown): string[] {
  const { apiVersion, kind } = (doc ?? {}) as { apiVersion?: unknown, kind?: unknown }
  const model = MODELS[`${String(apiVersion)} ${String(kind)}`]
  if (model === undefined) return [`no schema for apiVersion ${String(apiVersion)}, kind ${String(kind)}`]
  const unread: Array<{ path: string, fields: Set<string> }> = []
  const proxies = new WeakMap<object, object>()
  const watched = (value: unknown, path: string): unknown => {
    if (typeof value !== 'object' || value === null) return value
    const known = proxies.get(value)
    if (known !== undefined) return known
    const fields = new Set(Array.isArray(value) ? [] : Object.keys(value))
    unread.push({ path, fields })
    const proxy = new Proxy(value, {
      get (target, key, receiver) {
        const field = Reflect.get(target, key, receiver) as unknown
        if (typeof key !== 'string' || !Object.hasOwn(target, key)) return field
        fields.delete(key)
        return watched(field, `${path}/${key}`)
      }
    })
    proxies.set(value, proxy)
    return proxy
  }
  const problems: string[] = []
  try {
    model.prototype.validate.call(watched(doc, ''))
  } catch (err) {
    problems.push((err as Error).message)
  }
  for (const { path, fields } of unread) {
    for (const field of fields) problems.push(`${path}/${field}: unknown field`)
  }
  return problems
}

function documentsOf (path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => {
    assert.deepEqual(doc.errors, [], `${path}: not valid YAML`)
    return doc.toJS()
  })
}

interface Kustomization { resources: string[], configMapGenerator: Array<{ name: string, files: string[] }> }
const kustomization = documentsOf(join(k8s, 'kustomization.yaml'))[0] as Kustomization

interface Manifest { apiVersion: string, kind: string, metadata: { name: string, labels?: Record<string, string> }, spec: Record<string, unknown> }
const manifests = kustomization.resources.flatMap((file) => documentsOf(join(k8s, file)).map((doc) => ({ file, doc: doc as Manifest })))

function find (kind: string, name: string): Manifest {
  const found = manifests.find(({ doc }) => doc.kind === kind && doc.metadata.name === name)
  assert.ok(found, `${kind} ${name} in deploy/k8s`)
  return found.doc
}

interface DeploymentSpec { selector: { matchLabels: Record<string, string> }, template: { metadata: { labels: Record<string, string> }, spec: IPodSpec } }
const roles = [
  { name: 'mailqueue-api', script: 'start:api', portVariable: 'PORT' },
  { name: 'mailqueue-worker', script: 'start:worker', portVariable: 'WORKER_PORT' }
].map((role) => {
  const spec = find('Deployment', role.name).spec as unknown as DeploymentSpec
  const container = spec.template.spec.containers[0] as IContainer
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]))
  return { ...role, spec, pod: spec.template.spec, container, env }
})

/** A Kubernetes memory quantity in bytes (the binary suffixes these manifests use). */
function bytes (quantity: unknown): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(String(quantity))
  assert.ok(match, `${String(quantity)} is a quantity`)
  return Number(match[1]) * 1024 ** ['', 'Ki', 'Mi', 'Gi'].indexOf(match[2] ?? '')
}

const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v)

test('the kustomization lists every manifest in deploy/k8s, and every file it names exists', () => {
  const yamlFiles = readdirSync(k8s).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort()
  assert.deepEqual([...kustomization.resources].sort(), yamlFiles)
  for (const generator of kustomization.configMapGenerator) {
    for (const file of generator.files) assert.ok(existsSync(join(k8s, file)), `${file} exists`)
  }
})

test('every manifest matches the Kubernetes schema of its kind, with no unknown field', () => {
  assert.ok(manifests.length >= 6)
  for (const { file, doc } of manifests) {
    assert.deepEqual(manifestProblems(doc), [], `${file}: ${doc.kind} ${doc.metadata.name}`)
  }
})

test('the broken fixture fails the same check, each document for its own fault', () => {
  const problems = documentsOf(join(root, 'test/fixtures/k8s/broken.yaml')).map(manifestProblems)
  assert.deepEqual(problems, [
    ['/spec/template/spec/containers/0/readinessProbe/httpGet/paht: unknown field'],
    ['data/spec/ports/0/port must be integer'],
    ['no schema for apiVersion example.com/v1, kind Unknown']
  ])
})

test('both roles: node as the image runs it, probes on /healthz and /readyz, non-root with a read-only root filesystem', () => {
  for (const { name, script, portVariable, spec, pod, container, env } of roles) {
    assert.ok(selects(spec.selector.matchLabels, spec.template.metadata.labels), `${name}: the selector matches its pods`)
    assert.equal(container.command, undefined, `${name}: args only, so the image's init stays PID 1`)
    assert.deepEqual(container.args, scriptArgv(script), `${name}: the flags of npm run ${script}`)

    const port = container.ports?.find((p) => p.containerPort === Number(env[portVariable]))
    assert.ok(port?.name, `${name}: ${portVariable} is a named container port`)
    for (const [probe, path] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
      assert.deepEqual(container[probe]?.httpGet, { path, port: port.name }, `${name}: ${probe}`)
    }

    assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`)
    assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${name}: a non-root uid`)
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${name}: seccomp`)
    assert.deepEqual(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, `${name}: container securityContext`)

    const { requests, limits } = container.resources ?? {}
    assert.ok(requests?.cpu !== undefined && requests.memory !== undefined, `${name}: CPU and memory requests`)
    assert.ok(bytes(limits?.memory) > bytes(requests.memory), `${name}: a memory limit above the request`)
  }
})

test('both roles: the config file comes from the generated ConfigMap, the keys from the Secret', () => {
  const generated = kustomization.configMapGenerator.find((g) => g.name === 'mailqueue-config')
  assert.ok(generated)
  for (const { name, pod, container, env } of roles) {
    const configFile = env.CONFIG_FILE ?? ''
    const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(configFile))
    assert.equal(mount?.readOnly, true, `${name}: ${dirname(configFile)} mounted read-only`)
    const volume = pod.volumes?.find((v) => v.name === mount.name)
    assert.equal(volume?.configMap?.name, 'mailqueue-config', `${name}: the mount is the ConfigMap`)
    assert.ok(generated.files.includes(basename(configFile)), `${name}: CONFIG_FILE is a file of the ConfigMap`)
    assert.deepEqual(container.envFrom, [{ secretRef: { name: 'mailqueue-secrets' } }], `${name}: keys from the Secret`)
  }
})

test('mailqueue.json loads, and the Secret documented in kustomization.yaml holds every env:NAME it reads', () => {
  const file = join(k8s, 'mailqueue.json')
  const text = readFileSync(file, 'utf8')
  const names = [...new Set([...text.matchAll(/"env:([A-Z0-9_]+)"/g)].map((m) => m[1] as string))]
  assert.ok(names.length >= 2)
  const config = loadConfig({ env: { CONFIG_FILE: file, ...Object.fromEntries(names.map((n) => [n, `value-of-${n}`])) }, readFile: () => text })
  assert.ok(config.domains.size >= 1)
  const documented = readFileSync(join(k8s, 'kustomization.yaml'), 'utf8')
  for (const n of ['REDIS_URL', ...names]) assert.match(documented, new RegExp(`--from-literal=${n}=`), `${n} in the kubectl create secret line`)
})

test('the worker has longer than SEND_TIMEOUT_MS plus the drain to stop; the API drains behind a preStop pause', () => {
  const worker = roles.find((r) => r.name === 'mailqueue-worker')
  assert.ok(worker)
  const sendTimeoutMs = Number(worker.env.SEND_TIMEOUT_MS ?? loadConfig({ env: {}, readFile: () => null }).sendTimeoutMs)
  const graceMs = (worker.pod.terminationGracePeriodSeconds ?? 30) * 1000
  assert.ok(graceMs >= sendTimeoutMs + 10_000, `grace ${graceMs} ms for sends of up to ${sendTimeoutMs} ms`)

  const api = roles.find((r) => r.name === 'mailqueue-api')
  assert.ok(api)
  const pause = Number(api.container.lifecycle?.preStop?.exec?.command?.[1])
  assert.ok(pause > 0 && (api.pod.terminationGracePeriodSeconds ?? 30) > pause + 10, 'the grace period covers the pause and the close')
})

test('the API: a Service on its port, an autoscaler on CPU, and a disruption budget for each role', () => {
  const api = roles.find((r) => r.name === 'mailqueue-api')
  assert.ok(api)
  const labels = api.spec.template.metadata.labels
  const service = find('Service', 'mailqueue-api').spec as { selector: Record<string, string>, ports: Array<{ targetPort: unknown }> }
  assert.ok(selects(service.selector, labels))
  assert.ok(api.container.ports?.some((p) => p.name === service.ports[0]?.targetPort))

  const hpa = find('HorizontalPodAutoscaler', 'mailqueue-api').spec as { scaleTargetRef: unknown, minReplicas: number, metrics: Array<{ resource?: { name: string } }> }
  assert.deepEqual(hpa.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'mailqueue-api' })
  assert.ok(hpa.minReplicas >= 2, 'at least two API pods, so the disruption budget can let one go')
  assert.deepEqual(hpa.metrics.map((m) => m.resource?.name), ['cpu'])
  assert.equal((api.spec as { replicas?: number }).replicas, undefined, 'the autoscaler owns the API replica count')

  for (const { name, spec } of roles) {
    const budgets = manifests.filter(({ doc }) => doc.kind === 'PodDisruptionBudget' &&
      selects((doc.spec.selector as { matchLabels: Record<string, string> }).matchLabels, spec.template.metadata.labels))
    assert.equal(budgets.length, 1, `one PodDisruptionBudget for ${name}`)
  }
})
