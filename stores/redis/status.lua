-- Reads one key name's windows and budgets without changing them.
--
-- KEYS: q, t, f, c (as in admit.lua), then per budget b, x.
-- ARGV: now, cutoff.
-- Returns: requests, tokens, then per budget spend, reserved.
local nb = (#KEYS - 4) / 2
local function amount(m) return tonumber(string.match(m, ':(%-?%d+)$')) or 0 end
local function sum(list)
  local s = 0
  for _, m in ipairs(list) do s = s + amount(m) end
  return s
end
local reqs = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
local settled = sum(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf'))
local flying = sum(redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf'))
local out = {reqs, settled + flying}
for i = 1, nb do
  local b, x = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local v = redis.call('HMGET', b, 's', 'r')
  local expired = sum(redis.call('ZRANGEBYSCORE', x, '-inf', ARGV[1]))
  out[1 + 2 * i] = tonumber(v[1]) or 0
  out[2 + 2 * i] = (tonumber(v[2]) or 0) - expired
end
return out
