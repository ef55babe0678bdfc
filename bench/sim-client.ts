import { setTimeout as sleep } from 'node:timers/promises'

/** One message as the simulator's fast mode remembers it. */
export interface Received {
  /** Arrival time, epoch ms. */
  at: number
  domain: string
  messageId: string
}

export interface SimStats { received: number, requests: number }

/** Talks to the simulator's control routes (`/sim/...`), nothing else. */
export class SimClient {
  constructor (readonly url: string) {}

  async stats (): Promise<SimStats> {
    const res = await fetch(`${this.url}/sim/stats`)
    if (res.status !== 200) throw new Error(`GET /sim/stats → ${res.status}`)
    return await res.json() as SimStats
  }

  async received (): Promise<Received[]> {
    const res = await fetch(`${this.url}/sim/received`)
    if (res.status !== 200) throw new Error(`GET /sim/received → ${res.status}`)
    const rows = await res.json() as Array<{ at: number | string, domain: string, messageId?: string }>
    return rows.map((r) => ({
      at: typeof r.at === 'number' ? r.at : Date.parse(r.at),
      domain: r.domain,
      messageId: normalizeMessageId(r.messageId ?? '')
    }))
  }

  async reset (): Promise<void> {
    const res = await fetch(`${this.url}/sim/received`, { method: 'DELETE' })
    await res.arrayBuffer()
    if (res.status >= 300) throw new Error(`DELETE /sim/received → ${res.status}`)
  }

  /**
   * Polls /sim/stats until `received` reaches `target`; resolves the time (epoch ms) of the poll
   * that saw it. Throws with the last count after `timeoutMs`.
   */
  async waitForReceived (target: number, timeoutMs: number, everyMs = 25): Promise<number> {
    const deadline = Date.now() + timeoutMs
    let last = 0
    while (Date.now() < deadline) {
      last = (await this.stats()).received
      if (last >= target) return Date.now()
      await sleep(everyMs)
    }
    throw new Error(`simulator received ${last} of ${target} after ${timeoutMs} ms`)
  }
}

/** `<abc@host>` and `abc@host` name the same message. */
export function normalizeMessageId (id: string): string {
  return id.replace(/^\s*<|>\s*$/g, '')
}
