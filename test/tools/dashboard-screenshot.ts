/**
 * Takes the README's screenshot (docs/dashboard.png) from a running system: the whole pipeline in
 * this process (real Redis, API, worker, the two Mailgun simulators), a few minutes of traffic in
 * two regions with some failures, retries and a paused domain, then the dashboard in headless
 * Chromium. Every figure on it is what the API served.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node --import tsx test/tools/dashboard-screenshot.ts [minutes]
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { accept, eventually, message, startStack, statusesOf, type Stack } from '../helpers/stack.js'

const minutes = Number(process.argv[2] ?? 6)
const SHOP = 'shop.example.com'
const NEWS = 'news.example.com'
const EU = 'mail.example.eu'
const out = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))

const stack = await startStack({
  domains: [{ name: SHOP, region: 'us', ratePerSecond: 20 }, { name: NEWS, region: 'us' }, { name: EU, region: 'eu' }],
  worker: false,
  env: { BACKOFF_BASE_MS: '2000', BACKOFF_CAP_MS: '60000' }
})
try {
  await stack.api.inject({ method: 'POST', url: `/v1/domains/${NEWS}/pause`, headers: stack.auth(), payload: { reason: 'bounce rate under review' } })
  await stack.startWorker()
  const shown = await traffic(stack)
  await stack.api.listen({ port: 0, host: '127.0.0.1' })
  await screenshot(stack, `http://127.0.0.1:${(stack.api.server.address() as AddressInfo).port}`, shown)
  process.stdout.write(`wrote ${out}\n`)
} finally {
  await stack.close()
}

async function send (domain: string, extra: Record<string, unknown> = {}): Promise<{ id: string, messageId: string }> {
  const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message(domain, extra) })
  assert.equal(res.statusCode, 202, res.body)
  return res.json()
}

/**
 * A rate that rises and falls over the run, minute by minute, and the states an operator looks
 * at: a failure, held and scheduled messages, and a message sent at its second attempt, whose
 * Message-Id it returns.
 */
async function traffic (stack: Stack): Promise<string> {
  const later = new Date(Date.now() + 3_600_000).toISOString()
  let shown = ''
  const shop: string[] = []
  for (let m = 0; m < minutes; m++) {
    const started = Date.now()
    const wave = Math.sin((m / Math.max(1, minutes - 1)) * Math.PI)
    shop.push(...(await accept(stack, SHOP, Math.round(60 + 140 * wave))).map((a) => a.id))
    await accept(stack, EU, Math.round(15 + 30 * wave))
    if (m === 0) {
      stack.sims.us.addFault({ status: 400, domain: SHOP, count: 1, body: JSON.stringify({ message: "'to' parameter is not a valid address. please check documentation" }) })
      await send(SHOP)
    }
    if (m === minutes - 1) {
      for (let i = 0; i < 5; i++) await send(NEWS)
      for (let i = 0; i < 3; i++) await send(SHOP, { sendAt: later })
      // The 503 must meet this message, not one of the domain's earlier ones still being sent.
      await eventually(async () => (await statusesOf(stack, shop)).every((s) => s === 'sent' || s === 'failed') || undefined, 'the earlier messages sent', 60_000)
      stack.sims.us.addFault({ status: 503, domain: SHOP, count: 1 })
      const retried = await send(SHOP)
      await eventually(async () => (await statusesOf(stack, [retried.id]))[0] === 'sent' || undefined, 'the retried message sent')
      shown = retried.messageId
      break
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 60_000 - (Date.now() - started))))
  }
  return shown
}

async function screenshot (stack: Stack, base: string, messageId: string): Promise<void> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${base}/dashboard`)
    await page.getByLabel('Client key').fill(stack.clientKeys.main as string)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Domains' }).waitFor()
    await page.getByLabel('Find message').fill(messageId.slice(1, -1))
    await page.getByRole('button', { name: 'Find' }).click()
    await page.getByRole('article', { name: /^Message / }).getByText('attempt 2: sent').waitFor()
    await page.screenshot({ path: out, fullPage: true })
  } finally {
    await browser.close()
  }
}
