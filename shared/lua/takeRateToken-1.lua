--[[
  Takes send tokens from a token bucket: one bucket per domain, shared by every worker process, so
  a domain's ratePerSecond holds across all of them and across restarts (and one per API client,
  for the client's ingest rate, shared by every API process).

  Input:
    KEYS[1] the bucket, a hash (<prefix>:rate:<domain>, <prefix>:client-rate:<client>):
              tokens     milli-tokens left (1000 = one send), fractional
              ts         epoch ms the bucket was last refilled; never moves back (see ARGV[4])
              slowUntil  epoch ms; before it the rate is halved, floor 1/s (written by slowDown)
              tx         epoch ms; until then transactional sends wait for tokens, and bulk
                         sends take none (see ARGV[6])

    ARGV[1] ratePerSecond, > 0
    ARGV[2] now, epoch ms from the caller's clock
    ARGV[3] burstMs: the bucket holds at most burstMs worth of the (effective) rate, and never
            less than one token. Any window of w ms then grants at most rate * (w + burstMs) / 1000.
    ARGV[4] maxSkewMs: a `ts` further ahead of `now` than this came from a clock that is wrong
            (ours or another worker's); the bucket restarts from `now` instead of stalling.
    ARGV[5] cost: tokens to take (optional, default 1). A cost above what the bucket holds is
            taken once the bucket is full and leaves it in debt (one such call may exceed the
            window bound above), so n tokens still cost n / rate seconds and a batch larger than
            the bucket is never refused for good.
    ARGV[6] lane: 'transactional', 'bulk' or '' (optional). A transactional take that has to wait
            reserves the rate for transactional sends until it comes back (now + wait + ARGV[7]):
            until then a bulk take gets nothing and is told to wait until the reservation ends,
            so bulk only ever takes what transactional sends leave, across every worker process
            and queue partition.
    ARGV[7] reserveMs: how long past its wait a transactional take keeps the reservation.

  Output:
    0     the tokens were taken: the send may go now
    n > 0 milliseconds to wait before asking again

  Clocks: `now` comes from each worker, so skew between workers matters. Refill only ever counts
  time past the latest `ts` seen, so a slow clock cannot refill twice; a caller behind `ts` is told
  to wait the difference too. Skew therefore costs at most one bucket of extra sends (on a reset
  past maxSkewMs) or a stall of up to maxSkewMs; keep worker clocks NTP-synced.
]]
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local burstMs = tonumber(ARGV[3])
local maxSkewMs = tonumber(ARGV[4])
local cost = (tonumber(ARGV[5]) or 1) * 1000
local lane = ARGV[6] or ''
local reserveMs = tonumber(ARGV[7]) or 0

local state = redis.call('HMGET', key, 'tokens', 'ts', 'slowUntil', 'tx')
local slowUntil = tonumber(state[3]) or 0
local tx = tonumber(state[4]) or 0
if lane == 'bulk' and now < tx then
  return math.ceil(tx - now)
end
local slowRate = math.max(math.min(rate, 1), rate / 2)
local fullRate = rate
if now < slowUntil then
  rate = slowRate
end

-- rate tokens/s == rate milli-tokens/ms
local capacity = math.max(1000, rate * burstMs)
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil or ts - now > maxSkewMs then
  tokens = capacity
  ts = now
elseif now > ts then
  -- Time before slowUntil refills at the slow rate, time after it at the full rate.
  local slowMs = math.max(0, math.min(now, slowUntil) - ts)
  tokens = tokens + slowMs * slowRate + (now - ts - slowMs) * fullRate
  ts = now
end
if tokens > capacity then
  tokens = capacity
end

local need = math.min(cost, capacity)
local wait = 0
if tokens >= need then
  tokens = tokens - cost
else
  wait = math.ceil((need - tokens) / rate) + math.max(0, ts - now)
end

redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(ts))
if wait > 0 and lane == 'transactional' and now + wait + reserveMs > tx then
  tx = now + wait + reserveMs
  redis.call('HSET', key, 'tx', tostring(tx))
end
-- Keep the key while it still means something: until a drained (or indebted) bucket is full
-- again, the slowdown ends or the reservation ends. An absent key is a full bucket, so an idle
-- domain costs nothing.
local keepMs = math.max(math.ceil((capacity - math.min(tokens, 0)) / rate), slowUntil - now, tx - now) + 1000
redis.call('PEXPIRE', key, math.ceil(keepMs))
return wait
