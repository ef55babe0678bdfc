import { batch, bearer } from './fixtures.js'
import { inParallel, JsonClient } from './load.js'
import { NAIVE_JOB_OPTIONS, naiveQueue } from './baseline/naive-queue.js'
import { message } from './fixtures.js'
import type { Stack } from './stack.js'

const BATCH = 100

/** Queues `n` messages through mailqueue's own batch route (the worker is stopped meanwhile). */
export async function enqueueViaApi (stack: Stack, apiUrl: string, n: number, text?: string): Promise<void> {
  const client = new JsonClient(apiUrl, bearer(stack.clientKey), 8)
  try {
    await inParallel(Math.ceil(n / BATCH), 8, async (i) => {
      const size = Math.min(BATCH, n - i * BATCH)
      const answer = await client.post('/v1/messages/batch', batch(size, i * BATCH, text))
      if (answer.status !== 202) throw new Error(`batch ${i} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`)
    })
  } finally {
    await client.close()
  }
}

/** Queues `n` messages on the naive baseline's queue directly, as its route would (`addBulk`). */
export async function enqueueNaive (stack: Stack, n: number, text?: string): Promise<void> {
  const queue = naiveQueue(stack.redis.url)
  try {
    for (let from = 0; from < n; from += 1000) {
      const size = Math.min(1000, n - from)
      await queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: 'send', data: message(from + i, text), opts: NAIVE_JOB_OPTIONS })))
    }
  } finally {
    await queue.close()
  }
}
