--[[
  Deletes a key only if it still holds the given value: a lease is given back only by its holder,
  never after it expired and another took it.

  Input:
    KEYS[1] the key (<prefix>:probe:<region>)
    ARGV[1] the value it was set to

  Output: 1 when deleted, 0 otherwise.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
