-- Admits one request of one key name: counts it in the request and token
-- windows and reserves its worst-case cost in every budget, or, when
-- anything does not fit, changes nothing. Times are unix milliseconds;
-- money is integer nano-dollars. Numbers written back come from ARGV or
-- from Redis as strings, so that Lua never formats a large number.
--
-- KEYS: q (requests: zset id -> admitted), t (settled tokens: zset
--   "id:n" -> settled at), f (in flight: zset id -> expires),
--   c (hash: t = settled tokens in window, f = tokens in flight,
--   "#<id>" = a ticket's tokens in flight), then per budget
--   b (hash: s = spend, r = reserved, "#<id>" = a ticket's reservation)
--   and x (reservations: zset id -> expires).
-- ARGV: now, cutoff (now - 60000), id, rpm, tpm, tokens, expires, reserve,
--   keep (ms to keep the window keys), then per budget: limit, expire in ms
--   (0: never).
-- Returns: admitted (1/0), requests, request retry ms, request reset ms,
--   tokens, token retry ms, token reset ms, then per budget spend +
--   reserved before this request.
local now = tonumber(ARGV[1])
local cutoff = ARGV[2]
local id = ARGV[3]
local rpm = tonumber(ARGV[4])
local tpm = tonumber(ARGV[5])
local est = tonumber(ARGV[6])
local reserve = tonumber(ARGV[8])
local nb = (#KEYS - 4) / 2
local ok = true

local function num(v) return tonumber(v) or 0 end

-- Requests of the last 60 s.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
local reqs = redis.call('ZCARD', KEYS[1])
local reqRetry, reqReset = 0, 0
if reqs > 0 then
  reqReset = num(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]) + 60000 - now
  if rpm > 0 and reqs + 1 > rpm then
    ok = false
    local k = reqs - rpm
    reqRetry = num(redis.call('ZRANGE', KEYS[1], k, k, 'WITHSCORES')[2]) + 60000 - now
  end
end

-- Tokens: settled ones leave after 60 s, lost in-flight ones at expiry.
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff)) do
  redis.call('HINCRBY', KEYS[4], 't', '-' .. string.match(m, ':(%d+)$'))
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])) do
  local n = redis.call('HGET', KEYS[4], '#' .. m)
  if n then
    redis.call('HINCRBY', KEYS[4], 'f', '-' .. n)
    redis.call('HDEL', KEYS[4], '#' .. m)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
local c = redis.call('HMGET', KEYS[4], 't', 'f')
local toks = num(c[1]) + num(c[2])
local tokRetry, tokReset = 0, 0
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #oldest > 0 then tokReset = num(oldest[2]) + 60000 - now end
if tpm > 0 and toks + est > tpm then
  ok = false
  tokRetry = 60000
  if est <= tpm then
    local settled = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    local freed = 0
    for i = 1, #settled, 2 do
      freed = freed + num(string.match(settled[i], ':(%d+)$'))
      if toks - freed + est <= tpm then
        tokRetry = num(settled[i + 1]) + 60000 - now
        break
      end
    end
  end
end

-- Budgets: expired reservations first.
local out = {0, reqs, reqRetry, reqReset, toks, tokRetry, tokReset}
for i = 1, nb do
  local b, x = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', x, '-inf', ARGV[1])) do
    local n = redis.call('HGET', b, '#' .. m)
    if n then
      redis.call('HINCRBY', b, 'r', '-' .. n)
      redis.call('HDEL', b, '#' .. m)
    end
  end
  redis.call('ZREMRANGEBYSCORE', x, '-inf', ARGV[1])
  local v = redis.call('HMGET', b, 's', 'r')
  local used = num(v[1]) + num(v[2])
  if reserve > tonumber(ARGV[8 + 2 * i]) - used then ok = false end
  out[7 + i] = used
end
if not ok then return out end

-- Count it.
out[1] = 1
local keep = tonumber(ARGV[9])
redis.call('ZADD', KEYS[1], ARGV[1], id)
if est > 0 then
  redis.call('ZADD', KEYS[3], ARGV[7], id)
  redis.call('HSET', KEYS[4], '#' .. id, ARGV[6])
  redis.call('HINCRBY', KEYS[4], 'f', ARGV[6])
end
for k = 1, 4 do
  if redis.call('PTTL', KEYS[k]) < keep then redis.call('PEXPIRE', KEYS[k], ARGV[9]) end
end
for i = 1, nb do
  local b, x = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  if reserve > 0 then
    redis.call('ZADD', x, ARGV[7], id)
    redis.call('HSET', b, '#' .. id, ARGV[8])
    redis.call('HINCRBY', b, 'r', ARGV[8])
  end
  local ttl = ARGV[9 + 2 * i]
  if ttl ~= '0' then
    redis.call('PEXPIRE', b, ttl)
    redis.call('PEXPIRE', x, ttl)
  end
end
return out
