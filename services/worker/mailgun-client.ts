import { Pool } from 'undici'
import type { Region } from '../../shared/config.js'
import type { JobData } from '../../shared/queues.js'
import { encodeBody, type SendableMessage } from './encode.js'
import type { ProviderAnswer } from './send-policy.js'

export interface MailgunClientOptions {
  /** Base URL per region, e.g. https://api.eu.mailgun.net. */
  baseUrl: Readonly<Record<Region, string>>
  /** Deadline of one attempt (headers and body), in milliseconds. */
  timeoutMs: number
  /** Keep-alive connections per origin. */
  connections: number
}

export interface MailgunClient {
  /** One attempt; never throws: transport failures come back as `{ kind: 'transport' }`. */
  send(region: Region, data: Pick<JobData, 'domain' | 'endpoint'> & SendableMessage, authorization: string): Promise<ProviderAnswer>
  close(): Promise<void>
}

/** Basic auth of a sending key, Mailgun style: user `api`. */
export function basicAuth (key: string): string {
  return 'Basic ' + Buffer.from(`api:${key}`).toString('base64')
}

/** One keep-alive undici Pool per regional origin; every path consumes the response body. */
export function createMailgunClient (opts: MailgunClientOptions): MailgunClient {
  const pools = new Map<Region, { pool: Pool, pathPrefix: string }>()
  const poolFor = (region: Region): { pool: Pool, pathPrefix: string } => {
    let entry = pools.get(region)
    if (!entry) {
      const url = new URL(opts.baseUrl[region])
      entry = {
        pool: new Pool(url.origin, { connections: opts.connections, pipelining: 1, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs }),
        pathPrefix: url.pathname.replace(/\/+$/, '')
      }
      pools.set(region, entry)
    }
    return entry
  }

  return {
    async send (region, data, authorization) {
      const { pool, pathPrefix } = poolFor(region)
      const { body, contentType } = encodeBody(data)
      const headers: Record<string, string> = { authorization }
      if (contentType) headers['content-type'] = contentType
      try {
        const res = await pool.request({
          method: 'POST',
          path: `${pathPrefix}/v3/${encodeURIComponent(data.domain)}/${data.endpoint}`,
          headers,
          body,
          headersTimeout: opts.timeoutMs,
          bodyTimeout: opts.timeoutMs
        })
        return { kind: 'http', status: res.statusCode, headers: res.headers, body: await res.body.text() }
      } catch (err) {
        const e = err as { code?: string, message?: string }
        return { kind: 'transport', code: e.code ?? 'UNKNOWN', message: e.message ?? String(err) }
      }
    },
    async close () {
      await Promise.all([...pools.values()].map((p) => p.pool.close()))
    }
  }
}
