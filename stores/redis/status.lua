-- Reads one key name's windows and budgets without changing them.
--
-- KEYS: q, t, f, c (as in admit.lua), then per budget b, x.
-- ARGV: now, cutoff.
-- Returns: requests, tokens, then per budget spend, reserved.
local nb = (#KEYS - 4) / 2
local reqs = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
local toks = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf')) do
  toks = toks + (tonumber(string.match(m, ':(%d+)$')) or 0)
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')) do
  toks = toks + (tonumber(redis.call('HGET', KEYS[4], '#' .. m)) or 0)
end
local out = {reqs, toks}
for i = 1, nb do
  local b, x = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local reserved = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', x, '(' .. ARGV[1], '+inf')) do
    reserved = reserved + (tonumber(redis.call('HGET', b, '#' .. m)) or 0)
  end
  out[1 + 2 * i] = tonumber(redis.call('HGET', b, 's')) or 0
  out[2 + 2 * i] = reserved
end
return out
