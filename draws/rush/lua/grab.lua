-- One rush grab, atomically (seed 003's script, plus a ledger of coupons in flight).
--
-- KEYS[1] ready     string: the day's state is loaded (its TTL is the day's keys')
-- KEYS[2] reserved  hash:   customer id -> reservation id
-- KEYS[3] received  hash:   customer id -> voucher id
-- KEYS[4] stock     list:   voucher ids still free
-- KEYS[5] pending   zset:   "voucher:customer" -> ms when popped, until Postgres has the grab
-- KEYS[6] soldout   string: set when stock and pending are both empty
-- ARGV[1] customer id, ARGV[2] now (ms), ARGV[3] a pending entry older than this (ms)
--         belongs to a request that died: its coupon is handed on
--
-- Returns {'COLD'} | {'NOT_RESERVATION'} | {'ALREADY_RECEIVED', settled 0/1}
--       | {'SOLD_OUT', in flight 0/1} | {'OK', voucher id, reservation id, coupons left}
-- "In flight": coupons are popped but not settled, so Redis may not know yet
-- who has them (one may be settled 'gone' to this very customer).
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then
  return {'COLD'}
end
if ttl < 1000 then
  ttl = 1000
end
local customer = ARGV[1]
local reservation = redis.call('HGET', KEYS[2], customer)
if not reservation then
  return {'NOT_RESERVATION'}
end
local had = redis.call('HGET', KEYS[3], customer)
if had then
  local in_flight = redis.call('ZSCORE', KEYS[5], had .. ':' .. customer)
  return {'ALREADY_RECEIVED', in_flight and 0 or 1}
end
if redis.call('EXISTS', KEYS[6]) == 1 then
  return {'SOLD_OUT', 0}
end
local now = tonumber(ARGV[2])
local voucher = redis.call('LPOP', KEYS[4])
if not voucher then
  local stale = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, 1)
  if #stale == 0 then
    if redis.call('ZCARD', KEYS[5]) == 0 then
      redis.call('SET', KEYS[6], now, 'PX', ttl)
      return {'SOLD_OUT', 0}
    end
    return {'SOLD_OUT', 1}
  end
  redis.call('ZREM', KEYS[5], stale[1])
  local sep = string.find(stale[1], ':', 1, true)
  voucher = string.sub(stale[1], 1, sep - 1)
  local holder = string.sub(stale[1], sep + 1)
  if redis.call('HGET', KEYS[3], holder) == voucher then
    redis.call('HDEL', KEYS[3], holder)
  end
end
redis.call('HSET', KEYS[3], customer, voucher)
redis.call('ZADD', KEYS[5], now, voucher .. ':' .. customer)
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('PEXPIRE', KEYS[5], ttl)
return {'OK', voucher, reservation, redis.call('LLEN', KEYS[4])}
