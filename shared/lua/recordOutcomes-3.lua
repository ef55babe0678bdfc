--[[
  Writes a batch of message outcomes in one round trip: each record and history entry, its TTL,
  its entry in the outcome stream, the failed-message index and the per-domain counters.

  Input:
    KEYS[1]    the outcome stream (<prefix>:outcomes)
    KEYS[2]    the counters hash (<prefix>:stats)
    KEYS[3]    the region's failed-message index (<prefix>:failed:<region>)
    KEYS[4..]  one record hash per outcome (<prefix>:rec:<id>), in the order of the outcomes

    ARGV[1]    record TTL, ms
    ARGV[2]    approximate MAXLEN of the stream
    then 11 values per outcome:
      record   the record's scalar fields as JSON, stored in field `r`
      hfield   the history entry's field name (h<epoch ms>-<attempt>), or '' for none
      hentry   the history entry as JSON
      index    the failed-message index: epoch ms to enter it at (failed), '-' to leave it
               (a retry), '' to leave it alone
      id, domain, region, status, attempts, at, error   for the stream entry
    then 2 values per counter the outcomes move (summed by the caller: one HINCRBY per counter,
    not per outcome):
      field    <status>|<region>|<domain>
      by       how many of the outcomes count there

  Output: the number of outcomes written.
]]
local ttl = ARGV[1]
local maxlen = ARGV[2]
local failed = KEYS[3]
local outcomes = #KEYS - 3
for k = 4, #KEYS do
  local key = KEYS[k]
  local a = 3 + (k - 4) * 11
  if ARGV[a + 1] == '' then
    redis.call('HSET', key, 'r', ARGV[a])
  else
    redis.call('HSET', key, 'r', ARGV[a], ARGV[a + 1], ARGV[a + 2])
  end
  redis.call('PEXPIRE', key, ttl)
  local index, id = ARGV[a + 3], ARGV[a + 4]
  if index == '-' then
    redis.call('ZREM', failed, id)
  elseif index ~= '' then
    -- Entries older than the TTL belong to expired records; trimming on failures keeps it cheap.
    redis.call('ZADD', failed, index, id)
    redis.call('ZREMRANGEBYSCORE', failed, '-inf', string.format('(%d', tonumber(index) - tonumber(ttl)))
    redis.call('PEXPIRE', failed, ttl)
  end
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'id', id, 'domain', ARGV[a + 5], 'region', ARGV[a + 6],
    'status', ARGV[a + 7], 'attempts', ARGV[a + 8], 'at', ARGV[a + 9], 'error', ARGV[a + 10])
end
for c = 3 + outcomes * 11, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[c], ARGV[c + 1])
end
return outcomes
