import { addDelayedJob } from 'bullmq/dist/esm/scripts/addDelayedJob-6.js'
import { addPrioritizedJob } from 'bullmq/dist/esm/scripts/addPrioritizedJob-9.js'
import { addStandardJob } from 'bullmq/dist/esm/scripts/addStandardJob-9.js'
import { luaScript } from '../../shared/lua/index.js'
import { LANE_PRIORITY, storedJob, type JobData, type JobPolicy } from '../../shared/queues.js'
import type { Partition } from '../../shared/region-link.js'

const ADD_JOBS = 'mqAddJobs'
type AddJobsCommand = Record<typeof ADD_JOBS, (...keysThenArgs: Array<string | number>) => Promise<string[]>>

/** BullMQ's add scripts, pasted into the loop of addJobs-11.lua (its header says why). */
const BULLMQ_SCRIPTS: Record<string, { content: string }> = { addStandardJob, addPrioritizedJob, addDelayedJob }
const ADD_JOBS_LUA = luaScript('addJobs-11.lua').replace(/^ *-- BULLMQ (\w+)$/gm, (_line, name: string) => {
  const script = BULLMQ_SCRIPTS[name]
  if (!script) throw new Error(`addJobs-11.lua: no BullMQ script ${name}`)
  return script.content
})

/** The KEYS of addJobs-11.lua. */
const QUEUE_KEYS = ['wait', 'paused', 'meta', 'id', 'completed', 'delayed', 'active', 'events', 'marker', 'prioritized', 'pc']

/**
 * Adds jobs to their partition's queue in one Redis call, as Queue.addBulk would store them.
 * Resolves once they are all in Redis. All jobs must belong to the partition.
 */
export async function addJobs (partition: Partition, jobs: readonly JobData[], policy: JobPolicy): Promise<void> {
  const { queue } = partition
  // BullMQ's client: it waits for the connection to be ready the first time, as Queue.add does.
  const redis = await queue.client
  if (!(ADD_JOBS in redis)) redis.defineCommand(ADD_JOBS, { lua: ADD_JOBS_LUA, numberOfKeys: QUEUE_KEYS.length })
  const args: Array<string | number> = QUEUE_KEYS.map((name) => queue.toKey(name))
  args.push(JSON.stringify({ attempts: policy.maxAttempts, backoff: { type: 'policy' } }), queue.toKey(''), 'send')
  for (const job of jobs) {
    const delay = job.sendAt !== null && job.sendAt > job.createdAt ? job.sendAt - job.createdAt : 0
    args.push(job.id, job.createdAt, JSON.stringify(storedJob(job)), delay, LANE_PRIORITY[job.lane])
  }
  await (redis as unknown as AddJobsCommand)[ADD_JOBS](...args)
}
