-- Sliding-window rate limits (couponsite/api/throttling.py), all of one request at
-- once; rate_limit_windows.lua, prepended, does the arithmetic.
--
-- KEYS: one sorted set per limit, holding the times (ms) of the hits it counted.
-- ARGV: mode, now_ms, member, then count and period_ms for each key.
--   mode "hit":   count the hit on every key if none is spent (all or nothing)
--   mode "count": count it on every key, spent or not (failed attempts)
--   mode "peek":  count nothing
--   mode "undo":  take back the hit `member` counted (on a Redis Cluster, the
--                 limits of other slots refused it: all or nothing still)
--   now_ms "":    the Redis server's clock, one clock for every web node
-- Returns the wait in ms until every key has room again (0: none is spent).

local mode = ARGV[1]
if mode == 'undo' then
  local suffix = ':' .. ARGV[3]
  for i = 1, #KEYS do
    for _, member in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
      if string.sub(member, -#suffix) == suffix then
        redis.call('ZREM', KEYS[i], member)
      end
    end
  end
  return 0
end
local now = rate_clock(ARGV[2])
local counts, periods = {}, {}
for i = 1, #KEYS do
  counts[i] = tonumber(ARGV[2 + 2 * i])
  periods[i] = tonumber(ARGV[3 + 2 * i])
end

local wait = rate_wait(KEYS, counts, periods, now)
if mode == 'count' or (mode == 'hit' and wait == 0) then
  rate_count(KEYS, counts, periods, now, now .. ':' .. ARGV[3])
end
return wait
