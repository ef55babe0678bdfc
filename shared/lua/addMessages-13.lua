#!lua
--[[
  Adds messages to one partition in one call, all or nothing. Each job goes through BullMQ's own
  add script (addStandardJob, addPrioritizedJob or addDelayedJob of the installed bullmq, pasted
  in below by services/api/add-jobs.ts), chosen the way Queue.add chooses it, so the stored jobs,
  events and markers are exactly BullMQ's; with each job go its files (renamed into place from the
  staging hash the API uploaded them to), its index entries and the key of a caller-chosen
  Message-Id. What it saves is the API's side: Queue.addBulk builds a Job object, two msgpack
  buffers and one EVALSHA per job; here a batch is one command.

  All or nothing: the `#!lua` line makes this a script that declares its flags (none: it writes),
  so a Redis over maxmemory refuses the whole call with OOM before it runs, rather than failing
  at a write halfway; it writes nothing when it starts after its deadline (the fence), so an API
  that stopped waiting for it knows it never will; and it checks every staging hash before the
  first write.

  Input:
    KEYS[1..11] the queue's wait, paused, meta, id, completed, delayed, active, events, marker,
                prioritized and pc keys (queue.toKey of each name)
    KEYS[12]    the partition's created index (PartitionKeys.created)
    KEYS[13]    the partition's scheduled index (PartitionKeys.scheduled)

    ARGV[1]     notAfter, epoch ms: once Redis' clock is past it, nothing is written and the reply
                is an error starting with MQFENCED
    ARGV[2]     the options every job shares, as JSON in BullMQ's stored form (attempts, backoff)
    ARGV[3]     the prefix of the queue's job keys (queue.toKey(''))
    ARGV[4]     the job name
    ARGV[5]     the prefix of record keys (PartitionKeys.record(''))
    ARGV[6]     the prefix of files hashes (PartitionKeys.files(''))
    ARGV[7]     the prefix of Message-Id keys (PartitionKeys.messageId(''))
    ARGV[8]     created entries scored below this (epoch ms) are trimmed
    then 9 values per message:
      jobId      custom id
      timestamp  epoch ms; a delayed job is due at timestamp + delay
      data       the job data as JSON
      delay      ms, 0 for none
      priority   BullMQ priority, 0 for none
      keepMs     TTL of its files and Message-Id key
      midHash    hex SHA-256 of a caller-chosen Message-Id, or ''
      staging    the hash its files were uploaded to (same slot), or '' for none; an error
                 starting with MQSTAGING when it is missing
      replay     1: the id was handed out before (an Idempotency-Key's claim), so a message
                 whose job or record exists is left as it is; 0: a fresh id, which cannot exist
                 (BullMQ's add still leaves an existing job alone)

  Output: per message, 1 when it was added, 0 when it was there already.
]]
local time = redis.call('TIME')
if tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) > tonumber(ARGV[1]) then
  return redis.error_reply('MQFENCED the add reached Redis after its deadline; nothing was written')
end

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
local createdKey, scheduledKey = KEYS[12], KEYS[13]

local shared = cjson.decode(ARGV[2])
local prefix, name = ARGV[3], ARGV[4]
local recordPrefix, filesPrefix, midPrefix = ARGV[5], ARGV[6], ARGV[7]

local function exists (a)
  -- A sent or cancelled message has a record and no job any more: a replay must not revive it.
  return ARGV[a + 8] == '1' and redis.call('EXISTS', prefix .. ARGV[a], recordPrefix .. ARGV[a]) > 0
end

for a = 9, #ARGV, 9 do
  local staging = ARGV[a + 7]
  if staging ~= '' and not exists(a) and redis.call('EXISTS', staging) == 0 then
    return redis.error_reply('MQSTAGING the files of ' .. ARGV[a] .. ' are not in Redis; nothing was written')
  end
end

local added = {}
for a = 9, #ARGV, 9 do
  local jobId, timestamp, data = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
  local delay, priority, keepMs = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), ARGV[a + 5]
  local midHash, staging = ARGV[a + 6], ARGV[a + 7]
  if exists(a) then
    if staging ~= '' then redis.call('DEL', staging) end
    added[#added + 1] = 0
  else
    local opts = {jobId = jobId}
    for k, v in pairs(shared) do opts[k] = v end
    if delay > 0 then opts.delay = delay end
    if priority > 0 then opts.priority = priority end
    local argv = {cmsgpack.pack({prefix, jobId, name, timestamp}), data, cmsgpack.pack(opts)}
    if delay > 0 then
      addDelayedJob(delayedKeys, argv)
      redis.call('ZADD', scheduledKey, timestamp + delay, jobId)
    elseif priority > 0 then
      addPrioritizedJob(prioritizedKeys, argv)
    else
      addStandardJob(standardKeys, argv)
    end
    redis.call('ZADD', createdKey, timestamp, jobId)
    if midHash ~= '' then redis.call('SET', midPrefix .. midHash, jobId, 'PX', keepMs) end
    if staging ~= '' then
      redis.call('RENAME', staging, filesPrefix .. jobId)
      redis.call('PEXPIRE', filesPrefix .. jobId, keepMs)
    end
    added[#added + 1] = 1
  end
end
redis.call('ZREMRANGEBYSCORE', createdKey, '-inf', '(' .. ARGV[8])
return added
