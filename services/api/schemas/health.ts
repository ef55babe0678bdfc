import { Type } from '@sinclair/typebox'
import { RetryAfterHeader } from './errors.js'

/** Route documentation and answers of /healthz, /readyz and /metrics (no client key). */

const open = { security: [] }

export const healthzDocs = {
  ...open,
  summary: 'The process is up',
  description: 'Liveness: answers as long as the process runs, whatever Redis does.',
  response: { 200: Type.Object({ status: Type.String({ description: '"ok"' }) }) }
}

const Readiness = (description: string, extra: Record<string, unknown> = {}) => Type.Object({
  status: Type.String({ description: '"ready", or "unavailable"' }),
  regions: Type.Record(Type.String(), Type.String({ description: '"up", "redis down", or "workers stalled" (work has waited a minute while no worker finished a job)' }))
}, { description, ...extra })

export const readyzDocs = {
  ...open,
  summary: 'Whether this API process can take messages',
  description: 'Readiness: 200 only while every region\'s Redis answers. Stalled workers are named in the body (a region "workers stalled") without making the API unready: they cannot take mail, the API still can.',
  response: {
    200: Readiness('Ready'),
    503: Readiness('Not ready: the state of each region says why', { headers: { 'retry-after': RetryAfterHeader } })
  }
}

export const metricsDocs = {
  ...open,
  summary: 'Prometheus metrics',
  description: 'Prometheus text exposition: this process\'s own metrics (process, ingest) and the cluster-wide ones read from Redis (outcomes, queue depth and lag, holds). The README lists every metric.',
  response: {
    200: {
      description: 'Prometheus text format 0.0.4',
      content: { 'text/plain': { schema: Type.String() } }
    }
  }
}
