--[[
  Writes a batch of message outcomes in one round trip: each outcome's line of its record, the
  record's TTL, the outcome stream, the failed-message index and the per-domain counters.

  A record is a string of JSON lines, one per outcome, oldest first (includes/appendRecordLine.lua).

  Input:
    KEYS[1]    the outcome stream (<prefix>:outcomes)
    KEYS[2]    the counters hash (<prefix>:stats)
    KEYS[3]    the region's failed-message index (<prefix>:failed:<region>)
    KEYS[4..]  one record per outcome (<prefix>:rec:<id>), in the order of the outcomes

    ARGV[1]    record TTL, ms
    ARGV[2]    approximate MAXLEN of the stream
    then 3 values per outcome:
      line     the outcome as JSON: the record's fields and the history entry it adds, if any;
               also the stream entry's one field, `outcome`
      index    the failed-message index: epoch ms to enter it at (failed), '-' to leave it
               (a retry), '' to leave it alone
      id       the message id
    then 2 values per counter the outcomes move (summed by the caller: one HINCRBY per counter,
    not per outcome):
      field    <status>|<region>|<domain>
      by       how many of the outcomes count there

  Output: the number of outcomes written.
]]
-- INCLUDE appendRecordLine

local ttl = ARGV[1]
local maxlen = ARGV[2]
local failed = KEYS[3]
local outcomes = #KEYS - 3
for k = 4, #KEYS do
  local key = KEYS[k]
  local a = 3 + (k - 4) * 3
  local line, index, id = ARGV[a], ARGV[a + 1], ARGV[a + 2]
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
for c = 3 + outcomes * 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[c], ARGV[c + 1])
end
return outcomes
