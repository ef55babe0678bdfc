import { moveToActive } from 'bullmq/dist/esm/scripts/moveToActive-11.js'
import { moveToFinished } from 'bullmq/dist/esm/scripts/moveToFinished-14.js'
import { version } from 'bullmq/dist/esm/version.js'
import type { RedisClient } from './redis.js'

/**
 * BullMQ adds an `active` and a `completed` entry to its `<queue>:events` stream for every job it
 * runs, and trims that stream before every completion: 4 of the 23 Redis commands a sent message
 * costs in BullMQ's scripts, about 8% of Redis's work per message. Nothing of mailqueue reads
 * that stream (every outcome goes to the `<prefix>:outcomes` stream), so the connections BullMQ
 * moves jobs on get BullMQ's own moveToActive and moveToFinished without those three steps.
 * BullMQ defines a script on a connection only under a name not defined there yet, so defining
 * these first is enough. Every other event (added, waiting, delayed, failed, retries-exhausted,
 * drained, …) is written as before, and the scripts that write them keep the stream trimmed.
 */
interface Edit { find: string, replace: string }

const ACTIVE_EVENT: Edit = {
  find: 'rcall("XADD", eventStreamKey, "*", "event", "active", "jobId", jobId, "prev", "waiting")',
  replace: '-- mailqueue: no "active" event'
}
const COMPLETED_EVENT: Edit = {
  find: 'rcall("XADD", eventStreamKey, "*", "event", ARGV[5], "jobId", jobId, ARGV[3], ARGV[4], "prev", "active")',
  replace: 'if ARGV[5] ~= "completed" then rcall("XADD", eventStreamKey, "*", "event", ARGV[5], "jobId", jobId, ARGV[3], ARGV[4], "prev", "active") end'
}
const TRIM_BEFORE_COMPLETED: Edit = {
  find: '    trimEvents(metaKey, eventStreamKey)\n',
  replace: '    if ARGV[5] ~= "completed" then trimEvents(metaKey, eventStreamKey) end\n'
}

interface Script { name: string, content: string, keys: number }

/** The script with each edit applied; each must match exactly once (bullmq is pinned for this). */
export function edited (script: Script, edits: readonly Edit[]): Script {
  let content = script.content
  for (const { find, replace } of edits) {
    const at = content.indexOf(find)
    if (at < 0 || content.indexOf(find, at + 1) >= 0) {
      throw new Error(`bullmq ${version} ${script.name}: expected exactly one "${find.trim()}"; check shared/bullmq-scripts.ts after a bullmq upgrade`)
    }
    content = content.slice(0, at) + replace + content.slice(at + find.length)
  }
  return { ...script, content }
}

const QUIET_SCRIPTS: readonly Script[] = [
  edited(moveToActive, [ACTIVE_EVENT]),
  edited(moveToFinished, [ACTIVE_EVENT, COMPLETED_EVENT, TRIM_BEFORE_COMPLETED])
]

/** Call on a connection before any BullMQ Queue or Worker uses it. */
export function withoutSendEvents (redis: RedisClient): void {
  for (const s of QUIET_SCRIPTS) {
    const name = `${s.name}:${version}`
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: s.keys, lua: s.content })
  }
}
