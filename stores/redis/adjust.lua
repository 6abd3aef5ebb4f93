-- Moves one ticket's reservation to a new amount in every budget, or, when
-- a larger one does not fit, changes nothing; extends the expiry of its
-- reservation and of its tokens in flight. The current reservation is read
-- from Redis.
--
-- KEYS: f (as in admit.lua), then per budget b, x.
-- ARGV: now, id, expires, new, then per budget limit, expire in ms (0:
--   never).
-- Returns: moved (1/0), then per budget spend + others' reservations.
local nb = (#KEYS - 1) / 2
local id = ARGV[2]
local new = tonumber(ARGV[4])
local ok = true
local out = {0}
local mine = {}
for i = 1, nb do
  local b, x = KEYS[2 * i], KEYS[1 + 2 * i]
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', x, '-inf', ARGV[1])) do
    local n = redis.call('HGET', b, '#' .. m)
    if n then
      redis.call('HINCRBY', b, 'r', '-' .. n)
      redis.call('HDEL', b, '#' .. m)
    end
  end
  redis.call('ZREMRANGEBYSCORE', x, '-inf', ARGV[1])
  local v = redis.call('HMGET', b, 's', 'r', '#' .. id)
  mine[i] = v[3]
  local others = (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0) - (tonumber(v[3]) or 0)
  if new > (tonumber(v[3]) or 0) and new > tonumber(ARGV[3 + 2 * i]) - others then ok = false end
  out[1 + i] = others
end
if not ok then return out end
out[1] = 1
for i = 1, nb do
  local b, x = KEYS[2 * i], KEYS[1 + 2 * i]
  if mine[i] then redis.call('HINCRBY', b, 'r', '-' .. mine[i]) end
  if new > 0 then
    redis.call('ZADD', x, ARGV[3], id)
    redis.call('HSET', b, '#' .. id, ARGV[4])
    redis.call('HINCRBY', b, 'r', ARGV[4])
  else
    redis.call('ZREM', x, id)
    redis.call('HDEL', b, '#' .. id)
  end
  local ttl = ARGV[4 + 2 * i]
  if ttl ~= '0' then
    redis.call('PEXPIRE', b, ttl)
    redis.call('PEXPIRE', x, ttl)
  end
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id)
return out
