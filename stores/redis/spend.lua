-- Adds spend counted while Redis could not be reached.
--
-- KEYS: per budget period b.
-- ARGV: per budget spend, expire in ms (0: never).
for i = 1, #KEYS do
  redis.call('HINCRBY', KEYS[i], 's', ARGV[2 * i - 1])
  local at = ARGV[2 * i]
  if at ~= '0' then redis.call('PEXPIRE', KEYS[i], at) end
end
return 1
