/** The writers: RFC 2822 for Mailgun's o:deliverytime, ISO 8601 for records. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatRfc2822, parseRfc2822, toIso } from '../../shared/dates/index.js'

const rows: Array<{ source: string, instant: number, offset?: number | null, text: string }> = [
  { source: 'Mailgun API docs (o:deliverytime example form)', instant: Date.UTC(2011, 9, 13, 18, 2), text: 'Thu, 13 Oct 2011 18:02:00 +0000' },
  { source: 'RFC 5322 appendix A.1.1', instant: Date.UTC(1997, 10, 21, 15, 55, 6), offset: -360, text: 'Fri, 21 Nov 1997 09:55:06 -0600' },
  { source: 'RFC 5322 appendix A.1.3', instant: Date.UTC(1969, 1, 14, 3, 2, 54), offset: -210, text: 'Thu, 13 Feb 1969 23:32:54 -0330' },
  { source: 'RFC 9110 §5.6.7 (as numeric zone)', instant: Date.UTC(1994, 10, 6, 8, 49, 37), offset: 0, text: 'Sun, 06 Nov 1994 08:49:37 +0000' },
  { source: 'RFC 5322 §3.3 (-0000)', instant: Date.UTC(2026, 10, 26, 16, 18, 19), offset: null, text: 'Thu, 26 Nov 2026 16:18:19 -0000' },
  { source: 'issue 4 (milliseconds are dropped)', instant: Date.UTC(2026, 10, 26, 16, 18, 19, 999), text: 'Thu, 26 Nov 2026 16:18:19 +0000' },
  { source: 'issue 4 (offset crosses the day)', instant: Date.UTC(2026, 0, 1, 0, 0), offset: 330, text: 'Thu, 01 Jan 2026 05:30:00 +0530' },
  { source: 'issue 4 (offset of a day)', instant: Date.UTC(2026, 0, 1, 0, 0), offset: -1439, text: 'Wed, 31 Dec 2025 00:01:00 -2359' },
  { source: 'RFC 5322 §3.3 (largest offset, +9959)', instant: Date.UTC(2026, 0, 1, 0, 0), offset: 5999, text: 'Mon, 05 Jan 2026 03:59:00 +9959' },
  { source: 'RFC 5322 §3.3 (largest offset, -9959)', instant: Date.UTC(2026, 0, 1, 0, 0), offset: -5999, text: 'Sat, 27 Dec 2025 20:01:00 -9959' },
  { source: 'issue 4 (before the epoch)', instant: Date.UTC(1900, 0, 1, 0, 0, 0, 500), text: 'Mon, 01 Jan 1900 00:00:00 +0000' }
]

test('formatRfc2822 writes RFC 5322 §3.3 text with a numeric zone', () => {
  for (const row of rows) {
    const text = row.offset === undefined ? formatRfc2822(row.instant) : formatRfc2822(row.instant, row.offset)
    assert.equal(text, row.text, row.source)
    const back = parseRfc2822(text)
    assert.ok(back.ok, row.source)
    assert.equal(back.instant, Math.floor(row.instant / 1000) * 1000, row.source)
    assert.equal(back.offsetMinutes, row.offset === undefined ? 0 : row.offset, row.source)
  }
})

test('formatRfc2822 throws RangeError on arguments that are bugs', () => {
  assert.throws(() => formatRfc2822(Number.NaN), RangeError)
  assert.throws(() => formatRfc2822(0, 6000), RangeError)
  assert.throws(() => formatRfc2822(0, -6000), RangeError)
  assert.throws(() => formatRfc2822(0, 1.5), RangeError)
  assert.throws(() => formatRfc2822(9e15), RangeError)
})

test('toIso matches Date#toISOString everywhere a Date can go', () => {
  const samples = [0, -1, 1, 1318528920000, -62167219200000, -62167219200001, 253402300799999, 253402300800000,
    8.64e15, -8.64e15, 951782400000, 1.5, -1.5, Date.UTC(2000, 1, 29, 23, 59, 59, 999)]
  for (let i = 0; i < 2000; i++) samples.push(Math.round((Math.sin(i * 12.9898) * 43758.5453 % 1) * 8.64e15))
  for (const t of samples) assert.equal(toIso(t), new Date(t).toISOString(), String(t))
  assert.throws(() => toIso(Number.NaN), RangeError)
  assert.throws(() => toIso(8.64e15 + 1), RangeError)
})
