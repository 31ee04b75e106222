-- Sliding-window rate limits: the arithmetic, as local functions, one copy for
-- both scripts that run it: rate_limit.lua (couponsite/api/throttling.py) and
-- the thin path's gate (couponsite/server/thin.py), each prepended with this.
--
-- A window keeps the times (ms) of the hits it counted in a sorted set, never
-- more than `count` of them: the newest ones decide.

-- Now in ms: `given`, or the Redis server's clock when it is '' (one clock for
-- every web node).
local function rate_clock(given)
  if given == '' then
    local time = redis.call('TIME')
    return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  return tonumber(given)
end

-- The wait in ms until every window has room again (0: none is spent).
local function rate_wait(keys, counts, periods, now)
  local wait = 0
  for i, key in ipairs(keys) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - periods[i])
    local used = redis.call('ZCARD', key)
    if used >= counts[i] then
      -- Room comes back when the hit `count` places from the newest leaves the window.
      local oldest = redis.call('ZRANGE', key, used - counts[i], used - counts[i], 'WITHSCORES')
      local until_free = tonumber(oldest[2]) + periods[i] - now
      if until_free > wait then
        wait = until_free
      end
    end
  end
  return wait
end

-- Count one hit (`member`, unique) in every window.
local function rate_count(keys, counts, periods, now, member)
  for i, key in ipairs(keys) do
    redis.call('ZADD', key, now, member)
    redis.call('ZREMRANGEBYRANK', key, 0, -(counts[i] + 1))
    redis.call('PEXPIRE', key, periods[i])
  end
end
