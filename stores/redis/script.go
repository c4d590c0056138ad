package redisstore

import "github.com/redis/go-redis/v9"

// Roles of the keys given to storeScript, one letter per key in ARGV[1].
const (
	roleSet         = 'S' // SET the record with its TTL
	roleStale       = 'O' // shorten the old record's expiry to the stale TTL
	roleIndexAdd    = 'I' // prune the index, add the key, drop the old key, extend its expiry
	roleDelete      = 'D' // delete the record
	roleIndexRemove = 'X' // prune the index and drop the key
)

// storeScript does the writes of a save or a delete. Every key it touches is
// in KEYS, so a cluster can route it; with one key per call it runs in any
// slot. It uses only Redis 2.6 commands (no EXPIRE LT, no ZADD GT).
//
//	ARGV[1] roles, one letter per key   ARGV[5] the session key (index member)
//	ARGV[2] record value                ARGV[6] the old session key, or ""
//	ARGV[3] record TTL, milliseconds    ARGV[7] now: prune scores <= it
//	ARGV[4] stale TTL, milliseconds     ARGV[8] the new entry's score (expiry)
var storeScript = redis.NewScript(`
local roles, ttl, stale = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
for i, k in ipairs(KEYS) do
  local r = string.sub(roles, i, i)
  if r == 'S' then
    redis.call('SET', k, ARGV[2], 'PX', ttl)
  elseif r == 'O' then
    local t = redis.call('PTTL', k)
    if t == -1 or t > stale then
      redis.call('PEXPIRE', k, stale)
    end
  elseif r == 'I' then
    redis.call('ZREMRANGEBYSCORE', k, '-inf', ARGV[7])
    redis.call('ZADD', k, ARGV[8], ARGV[5])
    if ARGV[6] ~= '' then
      redis.call('ZREM', k, ARGV[6])
    end
    if redis.call('PTTL', k) < ttl then
      redis.call('PEXPIRE', k, ttl)
    end
  elseif r == 'D' then
    redis.call('DEL', k)
  elseif r == 'X' then
    redis.call('ZREMRANGEBYSCORE', k, '-inf', ARGV[7])
    redis.call('ZREM', k, ARGV[5])
  end
end
return 1
`)
