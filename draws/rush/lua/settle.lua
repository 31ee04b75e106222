-- After a grab's Postgres transaction: settle the coupon popped by grab.lua.
--
-- KEYS[1] ready, KEYS[2] received, KEYS[3] stock, KEYS[4] pending, KEYS[5] soldout
-- ARGV[1] customer id, ARGV[2] voucher id
-- ARGV[3] outcome:
--   'kept'     committed: the customer has it (received stays, ledger entry goes)
--   'back'     the write failed: the coupon goes back to the front of the stock
--   'gone'     Postgres says the coupon is no longer free: drop it
-- ARGV[4] the voucher the customer already holds in Postgres, or ''
-- ARGV[5] 'gone' only: the customer Postgres gave ARGV[2] to, or '' (none, or void)
local entry = ARGV[2] .. ':' .. ARGV[1]
local was_pending = redis.call('ZREM', KEYS[4], entry)
local ready = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[3] == 'kept' then
  if ready then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  end
  return was_pending
end
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
if ARGV[3] == 'back' and was_pending == 1 then
  redis.call('LPUSH', KEYS[3], ARGV[2])
  redis.call('DEL', KEYS[5])
end
if ARGV[4] ~= '' and ready then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
end
-- Whoever Postgres gave the coupon to has received: a later grab of theirs is
-- ALREADY_RECEIVED, never SOLD_OUT.
if ARGV[3] == 'gone' and ARGV[5] ~= '' and ready then
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[2])
end
return was_pending
