#!lua
--[[
  Writes a batch of message outcomes in one round trip: each outcome's line of its record, the
  record's TTL, the outcome stream, the failed-message and held-message indexes, the per-domain
  counters and the per-minute counters.

  A record is a string of JSON lines, one per outcome, oldest first (includes/appendRecordLine.lua).

  All or nothing: the `#!lua` line makes Redis 7 refuse the whole call before it runs when it
  cannot take writes (over maxmemory, a read-only replica, a failed disk), so a write the worker
  retries after such a refusal never adds a line twice. (Without it Redis refuses only a script's
  first write that needs memory: a script whose first write frees memory, as BullMQ's job moves
  do, runs to its end over maxmemory.)

  Input:
    KEYS[1]    the outcome stream (<prefix>:outcomes)
    KEYS[2]    the counters hash (<prefix>:stats)
    KEYS[3]    the region's failed-message index (<prefix>:failed:<region>)
    KEYS[4]    the region's held-message index (<prefix>:held:<region>)
    KEYS[5]    the per-minute counters of the minute every outcome of the batch belongs to
               (<prefix>:min:<epoch minute>)
    KEYS[6..]  one record per outcome (<prefix>:rec:<id>), in the order of the outcomes

    ARGV[1]    record TTL, ms
    ARGV[2]    approximate MAXLEN of the stream
    ARGV[3]    TTL of the per-minute counters, ms
    ARGV[4]    how many counter pairs (below) go to the counters hash; the rest go to the minute's
    then 4 values per outcome:
      line     the outcome as JSON: the record's fields and the history entry it adds, if any;
               also the stream entry's one field, `outcome`
      failed   the failed-message index: epoch ms to enter it at (failed), '-' to leave it
               (a retry), '' to leave it alone
      id       the message id
      held     the held-message index: '' to leave it alone, '-' to leave it, or
               '+<epoch ms>|<counter field>' to enter it at that time; then the outcome is written
               (line, stream, counter) only if the message was not in the index already: a message
               that is held again after a recheck has not changed state
    then 2 values per counter the outcomes move (summed by the caller: one HINCRBY per counter,
    not per outcome), first those of the counters hash, then those of the minute's:
      field    <status>|<region>|<domain> (counters hash), <status>|<domain> (minute)
      by       how many of the outcomes count there

  Output: the number of outcomes written.
]]
-- INCLUDE appendRecordLine

local ttl = ARGV[1]
local maxlen = ARGV[2]
local stats = KEYS[2]
local failed = KEYS[3]
local held = KEYS[4]
local outcomes = #KEYS - 5
local written = 0
for k = 6, #KEYS do
  local key = KEYS[k]
  local a = 5 + (k - 6) * 4
  local line, index, id, heldOp = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local write = true
  if heldOp == '-' then
    redis.call('ZREM', held, id)
  elseif heldOp ~= '' then
    local since, counter = string.match(heldOp, '^%+(%d+)|(.*)$')
    write = redis.call('ZADD', held, 'NX', since, id) == 1
    if write then redis.call('HINCRBY', stats, counter, 1) end
  end
  if write then
    written = written + 1
    appendRecordLine(key, line, ttl)
    if index == '-' then
      redis.call('ZREM', failed, id)
    elseif index ~= '' then
      -- Entries older than the TTL belong to expired records; trimming on failures keeps it cheap.
      redis.call('ZADD', failed, index, id)
      redis.call('ZREMRANGEBYSCORE', failed, '-inf', string.format('(%d', tonumber(index) - tonumber(ttl)))
      redis.call('PEXPIRE', failed, ttl)
    end
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'outcome', line)
  end
end
local counters = 5 + outcomes * 4
local statPairs = tonumber(ARGV[4])
for c = counters, counters + (statPairs - 1) * 2, 2 do
  redis.call('HINCRBY', stats, ARGV[c], ARGV[c + 1])
end
local minuteFirst = counters + statPairs * 2
for c = minuteFirst, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[5], ARGV[c], ARGV[c + 1])
end
if minuteFirst <= #ARGV then redis.call('PEXPIRE', KEYS[5], ARGV[3]) end
return written
