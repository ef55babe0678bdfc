// The dashboard's state and wiring: sign-in, the refresh loop, and the operator's actions.
import { ApiError, createApi } from './api.js'
import { domainRows, emptyRow, failedRows, h, recordView, regionCard } from './render.js'

const KEY_STORAGE = 'mailqueue.clientKey'
const REFRESH_MS = 5000
const FAILED_PAGE = 20
const FAILED_MAX = 500

const $ = (id) => document.getElementById(id)

const state = {
  api: null,
  timer: null,
  /** Bumped by every refresh and sign-out: an older refresh that ends late draws nothing. */
  generation: 0,
  failedLimit: FAILED_PAGE,
  /** The id of the record "Find message" shows, refreshed with the rest. */
  shown: null,
  /** JSON of what each part last showed: unchanged data leaves the DOM (and focus) alone. */
  drawn: new Map()
}

function draw (part, data, build) {
  const json = JSON.stringify(data)
  if (state.drawn.get(part) === json) return
  $(part).replaceChildren(...build(data))
  state.drawn.set(part, json)
}

// ---- sign-in ----

async function signIn (key) {
  const api = createApi(key)
  try {
    await api.domains()
  } catch (err) {
    sessionStorage.removeItem(KEY_STORAGE)
    showSignIn(err instanceof ApiError && err.status === 401 ? 'This client key was refused.' : `Could not reach mailqueue: ${err.message}`)
    return
  }
  sessionStorage.setItem(KEY_STORAGE, key)
  state.api = api
  $('sign-in-view').hidden = true
  $('dashboard-view').hidden = false
  $('sign-out').hidden = false
  await refresh()
}

/** Back to the sign-in form, with nothing of the previous session left on the page. */
function showSignIn (error = '') {
  clearTimeout(state.timer)
  Object.assign(state, { api: null, timer: null, generation: state.generation + 1, shown: null, failedLimit: FAILED_PAGE })
  state.drawn.clear()
  for (const id of ['regions', 'domains', 'failed', 'found', 'notice']) $(id).replaceChildren()
  $('find-input').value = ''
  $('dashboard-view').hidden = true
  $('sign-out').hidden = true
  $('sign-in-view').hidden = false
  $('sign-in-error').textContent = error
  $('sign-in-error').hidden = error === ''
  $('client-key').value = ''
  $('client-key').focus()
}

// ---- refresh ----

/** Reloads every part; a refused key signs out. Runs every few seconds while the tab is visible. */
async function refresh () {
  clearTimeout(state.timer)
  const { api } = state
  if (!api) return
  const generation = ++state.generation
  const results = await Promise.allSettled([
    api.domains(), api.stats(), api.failed(state.failedLimit), state.shown ? api.find(state.shown) : Promise.resolve(null)
  ])
  if (generation !== state.generation) return
  if (results.some((r) => r.status === 'rejected' && r.reason?.status === 401)) {
    showSignIn('The client key is no longer accepted.')
    return
  }
  const problems = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message)
  try {
    drawAll(results)
  } catch (err) {
    problems.push(`could not show the answer (${err.message})`)
  } finally {
    // Whatever went wrong this time, keep refreshing: the next answer may be fine.
    if (!document.hidden) state.timer = setTimeout(refresh, REFRESH_MS)
  }
  $('updated').textContent = problems.length === 0
    ? `Updated ${new Date().toISOString().slice(11, 19)} UTC`
    : `Refresh failed: ${problems.join('; ')}`
}

function drawAll ([domains, stats, failed, shown]) {
  if (domains.status === 'fulfilled') draw('domains', domains.value, (ds) => domainRows(ds, actions))
  draw('regions', stats.status === 'fulfilled' ? stats.value : { error: stats.reason.message }, (regions) =>
    regions.error ? [h('p', { class: 'note' }, `Statistics unavailable: ${regions.error}`)] : regions.map(regionCard))
  if (failed.status === 'fulfilled') drawFailed(failed.value)
  if (state.shown && shown.status === 'fulfilled' && shown.value) draw('found', shown.value, (r) => [recordView(r)])
}

function drawFailed ({ records, cursor }) {
  draw('failed', records, (rs) => rs.length === 0
    ? [emptyRow(5, 'No failed messages.')]
    : failedRows(rs, actions))
  $('failed-more').hidden = cursor === null || state.failedLimit >= FAILED_MAX
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) clearTimeout(state.timer)
  else void refresh()
})

// ---- actions ----

/**
 * Runs an operator's action from `button` (disabled meanwhile, so a double click acts once), tells
 * how it went, and shows its effect at once.
 */
async function act (what, button, run) {
  button.disabled = true
  try {
    const done = await run()
    if (done) notice(done)
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showSignIn('The client key is no longer accepted.')
    notice(`${what} failed: ${err.message}`, true)
  } finally {
    button.disabled = false
  }
  await refresh()
}

function notice (text, isError = false) {
  $('notice').replaceChildren(h('p', { class: isError ? 'error' : 'ok' }, text))
}

const actions = {
  pause: (domain, button) => act(`Pausing ${domain}`, button, async () => {
    const reason = await ask({ title: `Pause ${domain}`, text: 'Its messages wait, spending no attempts, until you resume it.', input: 'Reason', confirm: 'Pause domain' })
    if (reason === null) return null
    await state.api.pause(domain, reason)
    return `${domain} paused.`
  }),
  resume: (domain, button) => act(`Resuming ${domain}`, button, async () => {
    await state.api.resume(domain)
    return `${domain} resumed: its held messages are being sent.`
  }),
  replay: (domain, button) => act(`Replaying ${domain}`, button, async () => {
    const ok = await ask({ title: `Replay ${domain}`, text: `Every failed message of ${domain} is queued again.`, confirm: 'Replay failed messages' })
    if (ok === null) return null
    const { replayed } = await state.api.replay(domain)
    return `${replayed} failed message${replayed === 1 ? '' : 's'} of ${domain} queued again.`
  }),
  retry: (id, button) => act(`Retrying ${id}`, button, async () => {
    await state.api.retry(id)
    return `${id} queued again.`
  }),
  show: (id) => {
    $('find-input').value = id
    void find(id)
  }
}

/** A modal question; resolves with the input's value (or '' without input), or null if cancelled. */
function ask ({ title, text, input, confirm }) {
  const dialog = $('ask')
  $('ask-title').textContent = title
  $('ask-text').textContent = text
  $('ask-field').hidden = !input
  $('ask-input').required = Boolean(input)
  $('ask-input').value = ''
  $('ask-label').textContent = input ?? ''
  $('ask-confirm').textContent = confirm
  dialog.returnValue = ''
  dialog.showModal()
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm' ? $('ask-input').value.trim() : null), { once: true })
  })
}

$('ask-form').addEventListener('submit', (event) => {
  event.preventDefault()
  $('ask').close('confirm')
})
$('ask-cancel').addEventListener('click', () => $('ask').close('cancel'))

// ---- find message ----

async function find (text) {
  state.shown = null
  state.drawn.delete('found')
  $('found').replaceChildren(h('p', { class: 'note' }, 'Looking…'))
  try {
    const record = await state.api.find(text)
    if (!record) {
      $('found').replaceChildren(h('p', { class: 'note' }, `No message ${text} (or not one of this key's domains).`))
      return
    }
    state.shown = record.id
    draw('found', record, (r) => [recordView(r)])
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showSignIn('The client key is no longer accepted.')
    $('found').replaceChildren(h('p', { class: 'error' }, `Could not find ${text}: ${err.message}`))
  }
}

$('find').addEventListener('submit', (event) => {
  event.preventDefault()
  const text = $('find-input').value.trim()
  if (text !== '') void find(text)
})

$('failed-more').addEventListener('click', () => {
  state.failedLimit = Math.min(FAILED_MAX, state.failedLimit + FAILED_PAGE * 5)
  void refresh()
})

$('sign-in').addEventListener('submit', (event) => {
  event.preventDefault()
  const key = $('client-key').value.trim()
  if (key !== '') void signIn(key)
})
$('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE)
  showSignIn()
})

const saved = sessionStorage.getItem(KEY_STORAGE)
if (saved) void signIn(saved)
else showSignIn()
