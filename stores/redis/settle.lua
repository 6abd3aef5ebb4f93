-- Settles one ticket: its in-flight tokens become its real tokens, counted
-- from now; its reservation in every budget becomes spend.
--
-- KEYS: t, f, c (as in admit.lua), then per budget b, x.
-- ARGV: now, fmember ("" when none), est, tmember, tokens, xmember ("" when
--   none), reserved, spend, keep, then per budget expire in ms (0: never).
local nb = (#KEYS - 3) / 2
if ARGV[2] ~= '' and redis.call('ZREM', KEYS[2], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'f', '-' .. ARGV[3])
end
if tonumber(ARGV[5]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('HINCRBY', KEYS[3], 't', ARGV[5])
  for _, k in ipairs({KEYS[1], KEYS[3]}) do
    if redis.call('PTTL', k) < tonumber(ARGV[9]) then redis.call('PEXPIRE', k, ARGV[9]) end
  end
end
for i = 1, nb do
  local b, x = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  if ARGV[6] ~= '' and redis.call('ZREM', x, ARGV[6]) == 1 then
    redis.call('HINCRBY', b, 'r', '-' .. ARGV[7])
  end
  if ARGV[8] ~= '0' then
    redis.call('HINCRBY', b, 's', ARGV[8])
  end
  local at = ARGV[9 + i]
  if at ~= '0' then redis.call('PEXPIRE', b, at) end
end
return 1
