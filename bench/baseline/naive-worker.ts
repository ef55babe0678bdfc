/**
 * NAIVE BASELINE (b) — not mailqueue. The worker a user would write themselves: a BullMQ Worker
 * (concurrency 50) that POSTs each job to Mailgun's /v3/<domain>/messages with an undici Pool
 * `request()`, a urlencoded body and Basic auth, and consumes the answer. No policy, no records.
 * Env: REDIS_URL, SIM_URL (the Mailgun base URL), SENDING_KEY, CONCURRENCY.
 */
import { Worker } from 'bullmq'
import { Pool } from 'undici'
import { NAIVE_QUEUE, naiveConnection, naiveMessageId } from './naive-queue.js'
import type { MessageBody } from './schema.js'

const concurrency = Number(process.env.CONCURRENCY ?? 50)
const pool = new Pool(process.env.SIM_URL ?? 'http://127.0.0.1:8025', { connections: concurrency })
const auth = `Basic ${Buffer.from(`api:${process.env.SENDING_KEY ?? ''}`).toString('base64')}`

const worker = new Worker<MessageBody>(NAIVE_QUEUE, async (job) => {
  const m = job.data
  const form = new URLSearchParams()
  form.append('from', m.from)
  for (const to of m.to) form.append('to', to)
  if (m.subject !== undefined) form.append('subject', m.subject)
  if (m.text !== undefined) form.append('text', m.text)
  if (m.html !== undefined) form.append('html', m.html)
  form.append('h:Message-Id', naiveMessageId(job.id ?? ''))
  const res = await pool.request({
    path: `/v3/${encodeURIComponent(m.domain)}/messages`,
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString()
  })
  const answer = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`mailgun answered ${res.statusCode}: ${answer}`)
}, { connection: naiveConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'), concurrency })
worker.on('error', (err) => { console.error('naive-worker error', err.message) })

await worker.waitUntilReady()
console.log('naive-worker ready')
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => { void worker.close().then(async () => { await pool.close(); process.exit(0) }) })
}
