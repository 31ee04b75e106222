-- Put a day's state, built from Postgres into temporary keys, in place at once.
--
-- KEYS[1] ready, KEYS[2] reserved, KEYS[3] received, KEYS[4] stock, KEYS[5] pending,
-- KEYS[6] soldout, KEYS[7..9] the temporary reserved, received and stock
-- ARGV[1] how long the keys live (seconds), ARGV[2] '1' to replace a loaded state,
-- ARGV[3..5] how many entries the temporary keys must hold
--
-- Returns 1 if installed, 0 if another process had already loaded the day,
-- -1 if the temporary keys lost entries on the way (Redis flushed meanwhile).
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[7], KEYS[8], KEYS[9])
  return 0
end
if redis.call('HLEN', KEYS[7]) ~= tonumber(ARGV[3])
    or redis.call('HLEN', KEYS[8]) ~= tonumber(ARGV[4])
    or redis.call('LLEN', KEYS[9]) ~= tonumber(ARGV[5]) then
  redis.call('DEL', KEYS[7], KEYS[8], KEYS[9])
  return -1
end
for i = 2, 4 do
  local temporary = KEYS[i + 5]
  if redis.call('EXISTS', temporary) == 1 then
    redis.call('RENAME', temporary, KEYS[i])
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  else
    redis.call('DEL', KEYS[i])
  end
end
redis.call('DEL', KEYS[5], KEYS[6])
redis.call('SET', KEYS[1], 1, 'EX', ARGV[1])
return 1
