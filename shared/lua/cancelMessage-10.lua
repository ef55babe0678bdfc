--[[
  Cancels a message that still waits (queued, in the bulk lane, scheduled, retrying or held), or
  does nothing and says why, in one step in the message's hash slot: the job and its files are
  removed and its record's `cancelled` line written together or not at all.

  A worker takes a job only by moving it into the active list under a lock, in one script of its
  own, so a job found here outside the active list and unlocked cannot be sent any more once this
  removes it; one found active or locked is being sent. Concurrent retries and cancels of a message
  run one after the other (see retryFailed-14.lua), and a failed job is left to them.

  The job goes the way Job.remove takes it (BullMQ's removeJob script, pasted in by
  services/api/message-actions.ts).

  Input:
    KEYS[1]   the job key (queue.toKey(id))
    KEYS[2]   the queue's repeat key (removeJob reads it)
    KEYS[3]   the queue's failed set
    KEYS[4]   the queue's completed set
    KEYS[5]   the queue's active list
    KEYS[6]   the scheduled index (<space>:scheduled:<region>)
    KEYS[7]   the held index (<space>:held:<region>)
    KEYS[8]   the message's record
    KEYS[9]   the outcome stream
    KEYS[10]  the counters hash
    KEYS[11..] the message's stored files (keys that may not exist)

    ARGV[1]   the job (message) id
    ARGV[2]   the prefix of the queue's job keys (queue.toKey(''))
    ARGV[3]   the record line `cancelled` (RecordStore.outcomeWrite)
    ARGV[4]   the counter field it moves
    ARGV[5]   record TTL, ms
    ARGV[6]   approximate MAXLEN of the outcome stream

  Output: 1 cancelled; -1 no such job (sent, cancelled or expired); -2 it is being sent;
  -3 it is failed.
]]
local function removeJob(KEYS, ARGV)
  -- BULLMQ removeJob
end
-- INCLUDE appendRecordLine

local id, prefix, line = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('ZSCORE', KEYS[4], id) then return -1 end
if redis.call('ZSCORE', KEYS[3], id) then return -3 end
if redis.call('LPOS', KEYS[5], id) then return -2 end
local removed = removeJob({KEYS[1], KEYS[2]}, {id, '0', prefix})
if removed ~= 1 then return -2 end
-- UNLINK: megabytes of file bytes are freed in the background, not on Redis' one command thread.
for k = 11, #KEYS do redis.call('UNLINK', KEYS[k]) end
redis.call('ZREM', KEYS[6], id)
redis.call('ZREM', KEYS[7], id)
appendRecordLine(KEYS[8], line, ARGV[5])
redis.call('XADD', KEYS[9], 'MAXLEN', '~', ARGV[6], '*', 'outcome', line)
redis.call('HINCRBY', KEYS[10], ARGV[4], 1)
return 1
