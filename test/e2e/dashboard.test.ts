/**
 * The operator's dashboard driven in headless Chromium (Debian's `chromium` package, driven by
 * playwright-core: no browser download) against a real API listening on loopback, with Redis, the
 * worker and the Mailgun simulators all real. Without Chromium the test is skipped locally and
 * fails under CI, whose script installs it.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
import { accept, eventually, startStack, statusesOf, type Accepted, type Stack } from '../helpers/stack.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const root = fileURLToPath(new URL('../..', import.meta.url))
const SHOP = 'shop.example.com'
const NEWS = 'news.example.com'
const EU = 'mail.example.eu'
/** A Mailgun error message that would run script and bold text if it were ever parsed as HTML. */
const HOSTILE = '<img src=x onerror="window.__xss=1"><b>bold</b>'

// Counted and named as one skipped test, so the run's summary says it did not run.
const skip = existsSync(CHROMIUM) || process.env.CI ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`
if (skip) test('dashboard in headless Chromium', { skip }, () => {})
else describe('dashboard in headless Chromium', () => {
  let stack: Stack
  let browser: Browser
  let base: string
  let failedMessage: Accepted

  before(async () => {
    stack = await startStack({
      domains: [{ name: SHOP, region: 'us', ratePerSecond: 20 }, { name: NEWS, region: 'us' }, { name: EU, region: 'eu' }],
      clients: { shop: [SHOP] }
    })
    await stack.api.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(stack.api.server.address() as AddressInfo).port}`
    // Chromium's own background traffic (updates, sync, QUIC probes) would try to leave the machine.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
  })
  after(async () => {
    await browser?.close()
    await stack?.close()
  })

  /** Console lines where Chromium refused something under the page's own CSP, per page. */
  const violations = new WeakMap<Page, string[]>()

  /** A fresh tab (its own sessionStorage) on /dashboard; `viewport` defaults to a laptop's. */
  async function open (viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport })
    context.setDefaultTimeout(15_000)
    const page = await context.newPage()
    const refused: string[] = []
    violations.set(page, refused)
    page.on('console', (line) => { if (/Content Security Policy/i.test(line.text())) refused.push(line.text()) })
    await page.goto(`${base}/dashboard`)
    return page
  }

  /** Closes the tab, after checking the page never needed anything its CSP forbids. */
  async function close (page: Page): Promise<void> {
    assert.deepEqual(violations.get(page), [])
    await page.context().close()
  }

  async function signIn (page: Page, client = 'main'): Promise<void> {
    await page.getByLabel('Client key').fill(stack.clientKeys[client] as string)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Domains' }).waitFor()
  }

  const domainRow = (page: Page, name: string): Locator =>
    page.getByRole('region', { name: 'Domains' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) })
  const failedSection = (page: Page): Locator => page.getByRole('region', { name: 'Failed messages' })

  async function domainState (name: string): Promise<string | undefined> {
    const res = await stack.api.inject({ url: '/v1/domains', headers: stack.auth() })
    return (res.json().domains as Array<{ name: string, state: string }>).find((d) => d.name === name)?.state
  }

  test('the page and its files are served with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${base}/dashboard`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
    const csp = res.headers.get('content-security-policy') ?? ''
    assert.match(csp, /script-src 'self'(;|$)/)
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /frame-ancestors 'none'/)
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer')
    const html = await res.text()
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/, 'no inline script')
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin')
    assert.equal((await fetch(`${base}/dashboard/`)).status, 200)
    const js = await fetch(`${base}/dashboard/app.js`)
    assert.match(js.headers.get('content-type') ?? '', /javascript/)
    assert.equal((await fetch(`${base}/dashboard/../package.json`)).status, 404)
    // `npm start` serves the copy the build made.
    assert.equal(readFileSync(`${root}/dist/services/api/dashboard/app.js`, 'utf8'), readFileSync(`${root}/services/api/dashboard/app.js`, 'utf8'))
  })

  test('a refused key shows an error and nothing else', async () => {
    const page = await open()
    await page.getByLabel('Client key').fill('not-a-client-key')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor()
    const body = await page.locator('body').innerText()
    for (const name of [SHOP, NEWS, EU]) assert.ok(!body.includes(name), `${name} shown to a refused key`)
    assert.equal(await page.getByRole('heading', { name: 'Domains' }).isVisible(), false)
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused key is not kept')
    await close(page)
  })

  test('signs in, sees a held domain with its reason and resumes it', async () => {
    const paused = await stack.api.inject({ method: 'POST', url: `/v1/domains/${NEWS}/pause`, headers: stack.auth(), payload: { reason: 'bounce rate under review' } })
    assert.equal(paused.statusCode, 200, paused.body)
    const page = await open()
    await signIn(page)
    const row = domainRow(page, NEWS)
    await row.getByText('bounce rate under review').waitFor()
    await row.getByText('held', { exact: true }).waitFor()
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mailqueue.clientKey')), stack.clientKeys.main, 'the key is kept for this tab')
    assert.ok(!page.url().includes(stack.clientKeys.main as string), 'the key never goes into a URL')
    await row.getByRole('button', { name: 'Resume' }).click()
    await row.getByText('active', { exact: true }).waitFor()
    await row.getByRole('button', { name: 'Pause' }).waitFor()
    assert.equal(await domainState(NEWS), 'active')
    await close(page)
  })

  test('pauses a domain with a reason', async () => {
    const page = await open()
    await signIn(page)
    const row = domainRow(page, EU)
    await row.getByRole('button', { name: 'Pause' }).click()
    await page.getByLabel('Reason').fill('migrating to a new key')
    await page.getByRole('button', { name: 'Pause domain' }).click()
    await row.getByText('migrating to a new key').waitFor()
    assert.equal(await domainState(EU), 'held')
    await row.getByRole('button', { name: 'Resume' }).click()
    await row.getByRole('button', { name: 'Pause' }).waitFor()
    assert.equal(await domainState(EU), 'active')
    await close(page)
  })

  test('a Mailgun error holding HTML is shown as text; Retry sends the message again', async () => {
    stack.sims.us.addFault({ status: 400, body: JSON.stringify({ message: HOSTILE }), count: 1 })
    ;[failedMessage] = await accept(stack, SHOP, 1) as [Accepted]
    await eventually(async () => (await statusesOf(stack, [failedMessage.id]))[0] === 'failed' || undefined, 'the message to fail')
    const page = await open()
    await signIn(page)
    const row = failedSection(page).getByRole('row').filter({ hasText: failedMessage.id })
    await row.getByText(`HTTP 400 ${HOSTILE}`, { exact: true }).waitFor()
    assert.equal(await page.locator('main img, main b').count(), 0, 'no element made from the error')
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined)

    await row.getByRole('button', { name: 'Retry' }).click()
    await row.waitFor({ state: 'detached' })
    await eventually(async () => (await statusesOf(stack, [failedMessage.id]))[0] === 'sent' || undefined, 'the retried message to be sent')
    await close(page)
  })

  test('Replay queues a domain\'s failed messages again', async () => {
    stack.sims.us.addFault({ status: 400, body: JSON.stringify({ message: 'invalid recipient' }), count: 1, domain: SHOP })
    const [failed] = await accept(stack, SHOP, 1) as [Accepted]
    await eventually(async () => (await statusesOf(stack, [failed.id]))[0] === 'failed' || undefined, 'the message to fail')
    const page = await open()
    await signIn(page)
    await failedSection(page).getByRole('row').filter({ hasText: failed.id }).waitFor()
    await domainRow(page, SHOP).getByRole('button', { name: 'Replay' }).click()
    await page.getByRole('button', { name: 'Replay failed messages' }).click()
    await page.getByText(`1 failed message of ${SHOP} queued again.`).waitFor()
    await eventually(async () => (await statusesOf(stack, [failed.id]))[0] === 'sent' || undefined, 'the replayed message to be sent')
    await close(page)
  })

  test('"Find message" by id and by Message-Id shows the record and its timeline', async () => {
    assert.ok(failedMessage, 'runs after the retry test')
    const page = await open()
    await signIn(page)
    const find = page.getByLabel('Find message')
    const record = page.getByRole('article', { name: `Message ${failedMessage.id}` })

    await find.fill(failedMessage.id)
    await page.getByRole('button', { name: 'Find' }).click()
    await record.getByText('attempt 1: sent').waitFor()
    await record.getByText('attempt 1: failed').waitFor()

    await page.reload()
    // Reloading keeps the session (sessionStorage), so no new sign-in.
    await page.getByRole('heading', { name: 'Domains' }).waitFor()
    // Without the angle brackets, as it is often copied from a mail client. Needs the API's
    // `GET /v1/messages?messageId=`.
    await find.fill(failedMessage.messageId.slice(1, -1))
    await page.getByRole('button', { name: 'Find' }).click()
    await record.getByText(failedMessage.messageId, { exact: true }).waitFor()
    await record.getByText('attempt 1: sent').waitFor()
    assert.ok(await record.getByText(HOSTILE, { exact: false }).first().isVisible(), 'the failed attempt\'s error, as text')
    assert.equal(await page.locator('main img, main b').count(), 0)
    await close(page)
  })

  test('messages by state and sent / failed per minute, per region', async () => {
    // Needs the API's `GET /v1/stats`.
    const page = await open()
    await signIn(page)
    const us = page.getByRole('article', { name: 'Region us' })
    for (const state of ['queued', 'scheduled', 'sending', 'retrying', 'held', 'failed']) await us.getByText(state, { exact: true }).waitFor()
    const chart = us.getByRole('img', { name: /Sent and failed per minute in region us/ })
    await chart.waitFor()
    assert.match(await chart.getAttribute('aria-label') ?? '', /[1-9]\d* sent/, 'the messages sent in this test are counted')
    assert.equal(await chart.locator('rect.sent').count(), 60, 'one bar per minute of the last hour')
    await close(page)
  })

  test('a client restricted to some domains sees only those', async () => {
    const page = await open()
    await signIn(page, 'shop')
    await domainRow(page, SHOP).waitFor()
    const domains = await page.getByRole('region', { name: 'Domains' }).getByRole('rowheader').allInnerTexts()
    assert.deepEqual(domains, [SHOP])
    await close(page)
  })

  test('usable on a phone: nothing wider than the screen, actions within reach', async () => {
    const page = await open({ width: 390, height: 844 })
    await signIn(page)
    const row = domainRow(page, NEWS)
    await row.getByRole('button', { name: 'Pause' }).waitFor()
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'no horizontal scrolling')
    const box = await row.getByRole('button', { name: 'Pause' }).boundingBox()
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390 && box.height >= 32, 'the button is on screen and big enough to tap')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('Client key').waitFor()
    assert.equal(await page.evaluate(() => sessionStorage.length), 0)
    assert.ok(!(await page.locator('body').innerText()).includes(NEWS), 'signing out leaves no data on the page')
    await close(page)
  })
})
