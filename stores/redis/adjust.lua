-- Moves one ticket's reservation to a new amount in every budget, or, when
-- a larger one does not fit, changes nothing; extends the ticket's expiry.
--
-- KEYS: f (as in admit.lua), then per budget b, x.
-- ARGV: now, fmember ("" when none), expires, oldmember, old, newmember,
--   new, then per budget limit, expire in ms (0: never).
-- Returns: moved (1/0), then per budget spend + others' reservations.
local nb = (#KEYS - 1) / 2
local old, new = tonumber(ARGV[5]), tonumber(ARGV[7])
local ok = true
local out = {0}
local mine = {}
for i = 1, nb do
  local b, x = KEYS[2 * i], KEYS[1 + 2 * i]
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', x, '-inf', ARGV[1])) do
    redis.call('HINCRBY', b, 'r', '-' .. string.match(m, ':(%-?%d+)$'))
  end
  redis.call('ZREMRANGEBYSCORE', x, '-inf', ARGV[1])
  mine[i] = redis.call('ZSCORE', x, ARGV[4]) and old or 0
  local v = redis.call('HMGET', b, 's', 'r')
  local others = (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0) - mine[i]
  if new > old and new > tonumber(ARGV[6 + 2 * i]) - others then ok = false end
  out[1 + i] = others
end
if not ok then return out end
out[1] = 1
for i = 1, nb do
  local b, x = KEYS[2 * i], KEYS[1 + 2 * i]
  if mine[i] > 0 then
    redis.call('ZREM', x, ARGV[4])
    redis.call('HINCRBY', b, 'r', '-' .. ARGV[5])
  end
  if new > 0 then
    redis.call('ZADD', x, ARGV[3], ARGV[6])
    redis.call('HINCRBY', b, 'r', ARGV[7])
  end
  local at = ARGV[7 + 2 * i]
  if at ~= '0' then
    redis.call('PEXPIRE', b, at)
    redis.call('PEXPIRE', x, at)
  end
end
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[2]) end
return out
