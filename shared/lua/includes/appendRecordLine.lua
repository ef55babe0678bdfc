--[[
  Appends one outcome line to a message's record (a string of JSON lines, oldest first): the first
  line creates it with its TTL in one SET, later ones append and renew the TTL. Shared by every
  script that records an outcome, so a record is only ever written one way.
]]
local function appendRecordLine(key, line, ttl)
  if not redis.call('SET', key, line, 'PX', ttl, 'NX') then
    if redis.call('TYPE', key).ok == 'string' then
      redis.call('APPEND', key, '\n' .. line)
      redis.call('PEXPIRE', key, ttl)
    else
      -- A record of the earlier format (a hash): start it over rather than fail the whole batch.
      redis.call('SET', key, line, 'PX', ttl)
    end
  end
end
