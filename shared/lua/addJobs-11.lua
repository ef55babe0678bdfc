--[[
  Adds many jobs to one BullMQ queue in one call. Each job goes through BullMQ's own add script
  (addStandardJob, addPrioritizedJob or addDelayedJob of the installed bullmq, pasted in below
  by services/api/add-jobs.ts), chosen the way Queue.add chooses it, so the stored jobs, events
  and markers are exactly BullMQ's. What it saves is the API's side: Queue.addBulk builds a Job
  object, two msgpack buffers and one EVALSHA per job; here a batch is one command.

  Input:
    KEYS[1..11] the queue's wait, paused, meta, id, completed, delayed, active, events, marker,
                prioritized and pc keys (queue.toKey of each name)

    ARGV[1]     the options every job shares, as JSON in BullMQ's stored form (attempts, backoff)
    ARGV[2]     the prefix of the queue's job keys (queue.toKey(''))
    ARGV[3]     the job name
    then 5 values per job:
      jobId      custom id; an id already in the queue is left as it is (BullMQ's rule)
      timestamp  epoch ms; a delayed job is due at timestamp + delay
      data       the job data as JSON
      delay      ms, 0 for none
      priority   BullMQ priority, 0 for none

  Output: the job ids, in order.
]]
local function addStandardJob(KEYS, ARGV)
  -- BULLMQ addStandardJob
end
local function addPrioritizedJob(KEYS, ARGV)
  -- BULLMQ addPrioritizedJob
end
local function addDelayedJob(KEYS, ARGV)
  -- BULLMQ addDelayedJob
end

-- Each script's KEYS, in the order its header lists them.
local standardKeys = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]}
local prioritizedKeys = {KEYS[9], KEYS[3], KEYS[4], KEYS[10], KEYS[6], KEYS[5], KEYS[7], KEYS[8], KEYS[11]}
local delayedKeys = {KEYS[9], KEYS[3], KEYS[4], KEYS[6], KEYS[5], KEYS[8]}

local shared = cjson.decode(ARGV[1])
local prefix, name = ARGV[2], ARGV[3]
local ids = {}
for a = 4, #ARGV, 5 do
  local jobId, timestamp, data = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
  local delay, priority = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local opts = {jobId = jobId}
  for k, v in pairs(shared) do opts[k] = v end
  if delay > 0 then opts.delay = delay end
  if priority > 0 then opts.priority = priority end
  local argv = {cmsgpack.pack({prefix, jobId, name, timestamp}), data, cmsgpack.pack(opts)}
  if delay > 0 then
    ids[#ids + 1] = addDelayedJob(delayedKeys, argv)
  elseif priority > 0 then
    ids[#ids + 1] = addPrioritizedJob(prioritizedKeys, argv)
  else
    ids[#ids + 1] = addStandardJob(standardKeys, argv)
  end
end
return ids
