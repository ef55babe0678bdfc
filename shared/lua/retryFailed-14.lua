--[[
  Requeues a failed message (an operator's retry, or one message of a replay), or does nothing and
  says why, in one step in the message's hash slot: the job's move, its record's `queued` line,
  the failure index, the outcome stream and the counters change together or not at all.

  Operator actions on a message are serialized this way. Of concurrent retries (a double click, a
  replay overlapping a retry) exactly one finds the job in BullMQ's failed set and requeues it; the
  others change nothing. A retry cannot interleave with the worker's own outcome either: the
  worker only moves active jobs and this only failed ones, and the worker writes its outcome ahead
  of the job's move on one connection, so a job is in the failed set only once its `failed` line
  is stored, and the `queued` line written here lands before any line of the resend.

  The job moves the way BullMQ's Job.retry moves it (its reprocessJob script, pasted in by
  services/api/message-actions.ts, attempts reset), then a bulk job goes on into the prioritized
  set with its own priority (BullMQ's changePriority, pasted in): reprocessJob alone puts every
  job in the wait list, which would send a bulk message in the transactional lane.

  Input:
    KEYS[1]   the job key (queue.toKey(id))
    KEYS[2]   the queue's events stream
    KEYS[3]   the queue's failed set
    KEYS[4]   the queue's wait list
    KEYS[5]   the queue's meta hash
    KEYS[6]   the queue's paused list
    KEYS[7]   the queue's active list
    KEYS[8]   the queue's marker
    KEYS[9]   the queue's prioritized set
    KEYS[10]  the queue's priority counter (pc)
    KEYS[11]  the failed-message index (<space>:failed:<region>)
    KEYS[12]  the message's record
    KEYS[13]  the outcome stream
    KEYS[14]  the counters hash

    ARGV[1]   the job (message) id
    ARGV[2]   the prefix of the queue's job keys (queue.toKey(''))
    ARGV[3]   the record line `queued` (RecordStore.outcomeWrite)
    ARGV[4]   the counter field it moves
    ARGV[5]   record TTL, ms
    ARGV[6]   approximate MAXLEN of the outcome stream

  Output: 1 requeued; -1 no such job (sent, cancelled or expired); -3 the job is not failed.
]]
local function reprocessJob(KEYS, ARGV)
  -- BULLMQ reprocessJob
end
local function changePriority(KEYS, ARGV)
  -- BULLMQ changePriority
end
-- INCLUDE appendRecordLine

local id, prefix, line = ARGV[1], ARGV[2], ARGV[3]
local priority = tonumber(redis.call('HGET', KEYS[1], 'priority')) or 0
-- A bulk job is pushed at the end changePriority searches from, so it finds it at once.
local push = priority > 0 and 'RPUSH' or 'LPUSH'
local moved = reprocessJob({KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]},
  {id, push, 'failedReason', 'failed', '1', '1'})
if moved ~= 1 then return moved end
if priority > 0 then
  changePriority({KEYS[4], KEYS[6], KEYS[5], KEYS[9], KEYS[7], KEYS[10], KEYS[8]}, {priority, prefix, id, '0'})
end
appendRecordLine(KEYS[12], line, ARGV[5])
redis.call('ZREM', KEYS[11], id)
redis.call('XADD', KEYS[13], 'MAXLEN', '~', ARGV[6], '*', 'outcome', line)
redis.call('HINCRBY', KEYS[14], ARGV[4], 1)
return 1
