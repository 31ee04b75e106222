-- Sliding-window rate limits (couponsite/api/throttling.py), all of one request at once.
--
-- KEYS: one sorted set per limit, holding the times (ms) of the hits it counted.
-- ARGV: mode, now_ms, member, then count and period_ms for each key.
--   mode "hit":   count the hit on every key if none is spent (all or nothing)
--   mode "count": count it on every key, spent or not (failed attempts)
--   mode "peek":  count nothing
--   now_ms "":    the Redis server's clock, one clock for every web node
-- Returns the wait in ms until every key has room again (0: none is spent).
-- A set never keeps more than `count` hits: the newest ones decide.

local mode = ARGV[1]
local now
if ARGV[2] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[2])
end

local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 + 2 * i])
  local period = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  local used = redis.call('ZCARD', key)
  if used >= count then
    -- Room comes back when the hit `count` places from the newest leaves the window.
    local oldest = redis.call('ZRANGE', key, used - count, used - count, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + period - now
    if until_free > wait then
      wait = until_free
    end
  end
end

if mode == 'count' or (mode == 'hit' and wait == 0) then
  local member = now .. ':' .. ARGV[3]
  for i, key in ipairs(KEYS) do
    local count = tonumber(ARGV[2 + 2 * i])
    local period = tonumber(ARGV[3 + 2 * i])
    redis.call('ZADD', key, now, member)
    redis.call('ZREMRANGEBYRANK', key, 0, -(count + 1))
    redis.call('PEXPIRE', key, period)
  end
end
return wait
