--[[
  Writes a batch of message outcomes in one round trip: each record's fields and history entry,
  its TTL, its entry in the outcome stream and the per-domain counter.

  Input:
    KEYS[1]    the outcome stream (<prefix>:outcomes)
    KEYS[2]    the counters hash (<prefix>:stats)
    KEYS[3..]  one record hash per outcome (<prefix>:rec:<id>), in the order of the outcomes

    ARGV[1]    record TTL, ms
    ARGV[2]    approximate MAXLEN of the stream
    then per outcome:
      n        number of field/value pairs that follow
      f1 v1 …  record fields; must include id, domain, region, status, attempts, updatedAt, error
      entry    a history entry (JSON) to append as field h<k> (k = 1, 2, … kept in field hn), or ''

  Output: the number of outcomes written.
]]
local ttl = ARGV[1]
local maxlen = ARGV[2]
local a = 3
for k = 3, #KEYS do
  local key = KEYS[k]
  local n = tonumber(ARGV[a])
  local f = {}
  local hset = { 'HSET', key }
  for i = a + 1, a + 2 * n, 2 do
    f[ARGV[i]] = ARGV[i + 1]
    hset[#hset + 1] = ARGV[i]
    hset[#hset + 1] = ARGV[i + 1]
  end
  a = a + 2 * n + 1
  local entry = ARGV[a]
  a = a + 1
  if entry ~= '' then
    local seq = redis.call('HINCRBY', key, 'hn', 1)
    hset[#hset + 1] = 'h' .. seq
    hset[#hset + 1] = entry
  end
  redis.call(unpack(hset))
  redis.call('PEXPIRE', key, ttl)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'id', f.id, 'domain', f.domain, 'region', f.region,
    'status', f.status, 'attempts', f.attempts, 'at', f.updatedAt, 'error', f.error)
  redis.call('HINCRBY', KEYS[2], f.status .. '|' .. f.region .. '|' .. f.domain, 1)
end
return #KEYS - 2
