// Builds the page's parts from API data. Everything that comes from a message or from Mailgun goes
// in as text (createElement, append of strings, textContent): never parsed as HTML.

const SVG = 'http://www.w3.org/2000/svg'
export const STATES = ['queued', 'scheduled', 'sending', 'retrying', 'held', 'failed']

/** An element with attributes (`on…` adds a listener) and children; strings become text nodes. */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value)
    else el.setAttribute(name, value === true ? '' : String(value))
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false))
  return el
}

function svg (tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag)
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value))
  el.append(...children)
  return el
}

/** ISO 8601 UTC as `2025-01-31 14:05:09 UTC` in a <time>; times are UTC everywhere in mailqueue. */
export function time (iso) {
  if (!iso) return '—'
  return h('time', { datetime: iso }, `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`)
}

const count = (n) => n.toLocaleString('en-US')

/** One region: messages by state (null: the key is restricted, counts are region-wide) and the chart. */
export function regionCard ({ region, states, perMinute }) {
  const sent = perMinute.reduce((sum, m) => sum + m.sent, 0)
  const failed = perMinute.reduce((sum, m) => sum + m.failed, 0)
  return h('article', { class: 'card region', 'aria-label': `Region ${region}` },
    h('h3', {}, region.toUpperCase()),
    states
      ? h('dl', { class: 'states' }, STATES.map((s) => h('div', { class: `state state-${s}` }, h('dt', {}, s), h('dd', {}, count(states[s] ?? 0)))))
      : h('p', { class: 'note' }, 'Counts by state are region-wide: shown to keys for every domain.'),
    h('p', { class: 'legend' },
      h('span', { class: 'key sent' }, `${count(sent)} sent`), ' · ',
      h('span', { class: 'key failed' }, `${count(failed)} failed`), ' in the last hour',
      h('span', { class: 'peak' }, `peak ${count(peak(perMinute))}/min`)),
    chart(perMinute, `Sent and failed per minute in region ${region}, last hour: ${sent} sent, ${failed} failed`))
}

const peak = (perMinute) => Math.max(0, ...perMinute.map((m) => m.sent + m.failed))

/** Sent (below) and failed (stacked on top) per minute as bars; oldest minute first. */
export function chart (perMinute, label) {
  const width = 600
  const height = 120
  const step = width / Math.max(perMinute.length, 1)
  const top = Math.max(1, peak(perMinute))
  const scale = (n) => (n / top) * (height - 4)
  const bars = perMinute.flatMap((m, i) => {
    const x = i * step + 1
    const sentH = scale(m.sent)
    const failedH = scale(m.failed)
    const hhmm = m.minute.slice(11, 16)
    return [svg('g', {},
      svg('title', {}, `${hhmm} UTC: ${m.sent} sent, ${m.failed} failed`),
      svg('rect', { class: 'sent', x, y: height - sentH, width: step - 2, height: sentH }),
      svg('rect', { class: 'failed', x, y: height - sentH - failedH, width: step - 2, height: failedH }))]
  })
  return svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, preserveAspectRatio: 'none' },
    svg('line', { class: 'axis', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }),
    ...bars)
}

// Table parts carry their roles explicitly: the phone layout displays them as blocks, which takes
// their implicit roles away in Chromium and Safari.
const row = (...cells) => h('tr', { role: 'row' }, ...cells)
const cell = (label, ...content) => h('td', { role: 'cell', 'data-label': label }, ...content)
/** A short cell, side by side with its neighbours on a phone. */
const shortCell = (label, ...content) => h('td', { role: 'cell', class: 'short', 'data-label': label }, ...content)

/** Domain rows with their actions: Pause or Resume (whichever applies) and Replay. */
export function domainRows (domains, act) {
  return domains.map((d) => row(
    h('th', { role: 'rowheader', scope: 'row' }, d.name),
    shortCell('Region', d.region),
    shortCell('Rate', d.ratePerSecond === null ? 'unlimited' : `${d.ratePerSecond}/s`),
    cell('State', d.state === 'held'
      ? h('span', {}, h('span', { class: 'badge held' }, 'held'), ' ', h('span', { class: 'reason' }, d.hold.reason), h('small', {}, ' since ', time(d.hold.since)))
      : h('span', { class: 'badge active' }, 'active')),
    h('td', { role: 'cell', class: 'actions' },
      d.state === 'held'
        ? h('button', { type: 'button', onclick: (e) => act.resume(d.name, e.currentTarget) }, 'Resume')
        : h('button', { type: 'button', onclick: (e) => act.pause(d.name, e.currentTarget) }, 'Pause'),
      h('button', { type: 'button', class: 'secondary', title: `Send every failed message of ${d.name} again`, onclick: (e) => act.replay(d.name, e.currentTarget) }, 'Replay'))))
}

/** The row a table shows when it has none. */
export const emptyRow = (columns, text) => row(h('td', { role: 'cell', colspan: columns, class: 'note' }, text))

/** Failed messages, newest first, with their error and a Retry each. */
export function failedRows (records, act) {
  return records.map((r) => row(
    shortCell('Failed', time(r.updatedAt)),
    shortCell('Domain', r.domain),
    cell('Message',
      h('button', { type: 'button', class: 'link', title: 'Show its timeline', onclick: () => act.show(r.id) }, r.id),
      h('div', { class: 'mid' }, r.messageId)),
    cell('Error', h('span', { class: 'error-text' }, r.error ?? '—')),
    h('td', { role: 'cell', class: 'actions' }, h('button', { type: 'button', onclick: (e) => act.retry(r.id, e.currentTarget) }, 'Retry'))))
}

/** A record: its fields, then everything that happened to it, oldest first. */
export function recordView (r) {
  const fields = [
    ['Id', r.id], ['Message-Id', r.messageId], ['Domain', r.domain], ['Region', r.region],
    ['Status', h('span', { class: `badge ${r.status}` }, r.status)], ['Attempts', String(r.attempts)],
    ['Created', time(r.createdAt)], ['Updated', time(r.updatedAt)],
    r.sendAt && ['Send at', time(r.sendAt)],
    r.sentAt && ['Sent', h('span', {}, time(r.sentAt), ` (${r.sentAtSource === 'provider' ? 'Mailgun\'s clock' : 'our clock'})`)],
    r.provider && ['Mailgun', [`HTTP ${r.provider.status}`, r.provider.id === r.messageId ? null : r.provider.id, r.provider.message && !r.error?.includes(r.provider.message) ? r.provider.message : null].filter(Boolean).join(' · ')],
    r.error && ['Error', h('span', { class: 'error-text' }, r.error)]
  ].filter(Boolean)
  return h('article', { class: 'card record', 'aria-label': `Message ${r.id}` },
    h('dl', { class: 'fields' }, fields.map(([name, value]) => h('div', {}, h('dt', {}, name), h('dd', {}, value)))),
    h('h3', {}, 'Timeline'),
    h('ol', { class: 'timeline' }, timeline(r).map((e) => h('li', { class: e.kind }, time(e.at), h('strong', {}, e.title), e.detail && h('span', { class: 'detail' }, e.detail)))))
}

function timeline (r) {
  const entries = [{ at: r.createdAt, kind: 'accepted', title: 'accepted' }]
  for (const a of r.history) {
    // The error names the HTTP status already when there is one.
    const detail = [a.error ?? (a.status === null ? null : `HTTP ${a.status}`), a.nextAttemptAt && `next attempt ${a.nextAttemptAt.slice(11, 19)} UTC`]
    entries.push({ at: a.at, kind: a.outcome, title: `attempt ${a.attempt}: ${a.outcome}`, detail: detail.filter(Boolean).join(' · ') })
  }
  for (const { event, at, ...rest } of r.events) {
    entries.push({ at, kind: 'event', title: `Mailgun: ${event}`, detail: Object.entries(rest).map(([k, v]) => `${k}: ${brief(v)}`).join(' · ') })
  }
  return entries.sort((a, b) => a.at.localeCompare(b.at))
}

const brief = (value) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}
