import type { Region } from '../../shared/config.js'
import type { IndexEntry, IndexName } from '../../shared/records.js'
import type { Partition, RegionLinks } from '../../shared/region-link.js'
import { HttpError } from './errors.js'

/**
 * Reading a message index (failed messages by failure time, every message by creation) newest
 * first across partitions and regions, keyset-paged: a cursor is the last entry a page looked at,
 * so entries added or removed between pages never make a listing skip or repeat one.
 */

/** Index entries read per Redis call. */
const CHUNK = 100

/**
 * Every partition of the regions, those of every layout ever registered included: messages may
 * still live in the partitions of an earlier QUEUE_PARTITIONS.
 */
export async function partitionsOf (links: RegionLinks, regions: readonly Region[]): Promise<Partition[]> {
  const each = await Promise.all(regions.map(async (r) => {
    const link = links.get(r)
    await link.refreshLayouts()
    return link.partitions()
  }))
  return each.flat()
}

/** An index entry and the partition it was found in. */
export type Located = IndexEntry & { partition: Partition }

/**
 * One partition's index from newest to oldest, within [min, max], strictly after `after` in that
 * order (time descending, then id descending). Each call starts below the last time seen and
 * reads that last millisecond whole, so any number of entries in one millisecond is fine.
 */
export async function * scanIndex (partition: Partition, index: IndexName, max: number | string, min: number | string, after: IndexEntry | null): AsyncGenerator<Located> {
  const range = async (top: number | string, bottom: number | string, count?: number): Promise<Located[]> =>
    (await partition.store.indexRange(index, top, bottom, count)).map((e) => ({ ...e, partition }))
  let top: number | string = max
  if (after) {
    for (const e of await range(after.at, after.at)) if (e.id < after.id) yield e
    top = `(${after.at}`
  }
  for (;;) {
    const page = await range(top, min, CHUNK)
    const lastAt = page.at(-1)?.at
    if (lastAt === undefined) return
    for (const e of page) if (e.at !== lastAt) yield e
    yield * await range(lastAt, lastAt)
    if (page.length < CHUNK) return
    top = `(${lastAt}`
  }
}

const newer = (a: IndexEntry, b: IndexEntry): boolean => a.at > b.at || (a.at === b.at && a.id > b.id)

/** Merges per-partition scans into one order, so a cursor means the same across partitions and regions. */
export async function * mergeNewestFirst (scans: Array<AsyncGenerator<Located>>): AsyncGenerator<Located> {
  const heads = await Promise.all(scans.map((s) => s.next()))
  for (;;) {
    let best = -1
    for (const [i, h] of heads.entries()) {
      const current = heads[best]
      if (!h.done && (!current || current.done || newer(h.value, current.value))) best = i
    }
    const head = heads[best]
    if (!head || head.done) return
    yield head.value
    heads[best] = await (scans[best] as AsyncGenerator<Located>).next()
  }
}

export async function * chunked<T> (source: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = []
  for await (const item of source) {
    chunk.push(item)
    if (chunk.length === size) { yield chunk; chunk = [] }
  }
  if (chunk.length > 0) yield chunk
}

/** Cursor: the last index entry a page looked at, as base64url JSON; opaque to clients. */
export function encodeCursor (e: IndexEntry): string {
  return Buffer.from(JSON.stringify({ at: e.at, id: e.id })).toString('base64url')
}

export function decodeCursor (cursor: string): IndexEntry {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { at?: unknown, id?: unknown }
    if (typeof v.at === 'number' && Number.isFinite(v.at) && typeof v.id === 'string') return { at: v.at, id: v.id }
  } catch {}
  throw new HttpError('MQ_ERR_VALIDATION', 'cursor is not valid')
}
