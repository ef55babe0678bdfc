--[[
  Rewrites a hold only if it is still there: a region's probe schedule must not bring back a hold
  another worker (or an operator) lifted meanwhile.

  Input:
    KEYS[1] the holds hash (<prefix>:holds)
    ARGV[1] the field (`region:<name>`, `domain:<name>`)
    ARGV[2] the hold as JSON

  Output: 1 when rewritten, 0 when there was no such hold.
]]
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
