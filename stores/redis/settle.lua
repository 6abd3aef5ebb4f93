-- Settles one ticket: its in-flight tokens become its real tokens, counted
-- from now; its reservation in every budget becomes spend. What the ticket
-- holds is read from Redis, so a settlement is right even when the reply
-- to an earlier call was lost.
--
-- KEYS: t, f, c (as in admit.lua), then per budget b, x.
-- ARGV: now, id, tmember ("id:tokens"), tokens, spend, keep, then per
--   budget expire in ms (0: never).
local nb = (#KEYS - 3) / 2
local id = ARGV[2]
if redis.call('ZREM', KEYS[2], id) == 1 then
  local n = redis.call('HGET', KEYS[3], '#' .. id)
  if n then
    redis.call('HINCRBY', KEYS[3], 'f', '-' .. n)
    redis.call('HDEL', KEYS[3], '#' .. id)
  end
end
if tonumber(ARGV[4]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
  redis.call('HINCRBY', KEYS[3], 't', ARGV[4])
  for _, k in ipairs({KEYS[1], KEYS[3]}) do
    if redis.call('PTTL', k) < tonumber(ARGV[6]) then redis.call('PEXPIRE', k, ARGV[6]) end
  end
end
for i = 1, nb do
  local b, x = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  if redis.call('ZREM', x, id) == 1 then
    local n = redis.call('HGET', b, '#' .. id)
    if n then redis.call('HINCRBY', b, 'r', '-' .. n) end
  end
  redis.call('HDEL', b, '#' .. id)
  if ARGV[5] ~= '0' then
    redis.call('HINCRBY', b, 's', ARGV[5])
  end
  local ttl = ARGV[6 + i]
  if ttl ~= '0' then redis.call('PEXPIRE', b, ttl) end
end
return 1
