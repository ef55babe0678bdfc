// The HTTP API as the dashboard uses it: every call carries the client key as a Bearer token,
// never in a URL. Errors arrive as {message, code} and are thrown as ApiError.

export class ApiError extends Error {
  constructor (status, message, code) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

/** Our ids are `<region>-<local>`; anything else typed into "Find message" is a Message-Id. */
export const looksLikeId = (text) => /^(us|eu)-/.test(text)

export function createApi (key) {
  async function call (method, path, body) {
    const headers = { authorization: `Bearer ${key}` }
    // Fastify refuses an empty body announced as JSON: only say JSON when there is one.
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
    const data = await res.json().catch(() => null)
    if (!res.ok) throw new ApiError(res.status, data?.message ?? `HTTP ${res.status}`, data?.code ?? null)
    return data
  }
  const enc = encodeURIComponent
  return {
    domains: async () => (await call('GET', '/v1/domains')).domains,
    stats: async () => (await call('GET', '/v1/stats')).regions,
    failed: (limit) => call('GET', `/v1/messages?status=failed&limit=${limit}`),
    pause: (domain, reason) => call('POST', `/v1/domains/${enc(domain)}/pause`, { reason }),
    resume: (domain) => call('POST', `/v1/domains/${enc(domain)}/resume`),
    retry: (id) => call('POST', `/v1/messages/${enc(id)}/retry`),
    replay: (domain) => call('POST', '/v1/messages/replay', { domain }),
    /** A record by our id or by Message-Id (angle brackets added when missing); null when unknown. */
    async find (text) {
      if (looksLikeId(text)) {
        try {
          return await call('GET', `/v1/messages/${enc(text)}`)
        } catch (err) {
          if (err.status === 404) return null
          throw err
        }
      }
      const messageId = `<${text.replace(/^<|>$/g, '')}>`
      return (await call('GET', `/v1/messages?messageId=${enc(messageId)}`)).records[0] ?? null
    }
  }
}
