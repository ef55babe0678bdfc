--[[
  Writes a batch of message outcomes in one round trip: each record and history entry, its TTL,
  its entry in the outcome stream and the per-domain counter.

  Input:
    KEYS[1]    the outcome stream (<prefix>:outcomes)
    KEYS[2]    the counters hash (<prefix>:stats)
    KEYS[3..]  one record hash per outcome (<prefix>:rec:<id>), in the order of the outcomes

    ARGV[1]    record TTL, ms
    ARGV[2]    approximate MAXLEN of the stream
    then 10 values per outcome:
      record   the record's scalar fields as JSON, stored in field `r`
      hfield   the history entry's field name (h<epoch ms>-<attempt>), or '' for none
      hentry   the history entry as JSON
      id, domain, region, status, attempts, at, error   for the stream entry
    then 2 values per counter the outcomes move (summed by the caller: one HINCRBY per counter,
    not per outcome):
      field    <status>|<region>|<domain>
      by       how many of the outcomes count there

  Output: the number of outcomes written.
]]
local ttl = ARGV[1]
local maxlen = ARGV[2]
local outcomes = #KEYS - 2
for k = 3, #KEYS do
  local key = KEYS[k]
  local a = 3 + (k - 3) * 10
  if ARGV[a + 1] == '' then
    redis.call('HSET', key, 'r', ARGV[a])
  else
    redis.call('HSET', key, 'r', ARGV[a], ARGV[a + 1], ARGV[a + 2])
  end
  redis.call('PEXPIRE', key, ttl)
  local id, domain, region, status = ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'id', id, 'domain', domain, 'region', region,
    'status', status, 'attempts', ARGV[a + 7], 'at', ARGV[a + 8], 'error', ARGV[a + 9])
end
for c = 3 + outcomes * 10, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[c], ARGV[c + 1])
end
return outcomes
