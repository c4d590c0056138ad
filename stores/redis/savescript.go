package redisstore

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// saveScript is a save on a single server or a Sentinel master: one call,
// atomic, one round trip. It is a script of its own, apart from
// storeScript, so that a save runs only the Lua it needs: every call of a
// script runs its whole chunk, and each function the chunk defines costs a
// closure per call.
//
//	KEYS record, link, [old, its link], [partner, its link], index...
//	ARGV flags ("o" with the old record, "p" with the partner, "s" with group info,
//	     "L" to run as on a server before Redis 7), value, ttl ms, stale ms,
//	     nonce (names a group the save founds), now (unix ms, the application's clock),
//	     [key, old key or "", now (unix s), expires (unix s),
//	     [seen (unix ms) or "", "1"/"0" (with facts), facts, limit or "0", refuse "1"/"0",
//	     "prefix:" or "", ":suffix" or "", cookie name, "audience:subject"...]]
//	→ "ok", "old", "partner" (missing) or "limit" (refused)
//
// The ARGV in brackets are sent only when a save has an index, group info or
// a limit (see saveAtomic).
//
// A save costs what its calls cost (a write call in a script costs about a
// microsecond of the server's time, a read less than half of that), so the
// script makes as few as the layout allows. A save that rotates a record of
// a group makes seven: PEXPIRE of the old record with LT, which checks that it
// exists and shortens it in one call; GET of its link; SET of the new
// record; SET of the new link with GET, which returns the group the key was
// in before; PEXPIRE of the old link; PTTL of the group; one ZADD of the new
// record and the old one's new expiry. Before Redis 7 (no LT, no GET
// option), two more: PTTL of the old record, GET of the new link.
//
// Members are scored by their expiry in the application's clock (unix ms),
// not Redis's (TIME, a call of its own): the scores only choose the members
// that pruning checks, and pruning drops a member only once its record is
// gone (EXISTS), so that a skewed clock never drops a live record from its
// group. The group's own expiry and the pruning are left alone while the
// group outlives its longest-lived member by more than half of groupGrace:
// a session saved many times a minute moves them at most twice a minute (a
// group with a member that never expires, a record written without a TTL,
// is pruned on every save). The
// group info is one HSET of the seen time (two when the hash is new, or with
// the facts); its expiry follows the group's.
//
// A signed-in save adds the group info and, per subject index, the
// reference's five calls (prune, add, remove the old key, read and extend
// the index's expiry): thirteen calls where the script this one replaced
// made twenty-one or twenty-two.
//
// What a save writes depends on what it reads (PTTL, EXISTS), which a
// replica, expiring keys on its master's word, may read otherwise: luaHead
// has Redis replicate the writes themselves, the default from Redis 5.
var saveScript = redis.NewScript(luaHead + `
local GRACE = ` + strconv.FormatInt(groupGrace.Milliseconds(), 10) + `
` + luaCompanion + `
local k, lk, flags, v = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local ttl, stale, now = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local n, o, lo, p, lp = 3
if string.find(flags, 'o', 1, true) then o, lo, n = KEYS[3], KEYS[4], 5 end
if string.find(flags, 'p', 1, true) then p, lp, n = KEYS[n], KEYS[n + 1], n + 2 end
local seen = string.find(flags, 's', 1, true) and ARGV[11]
-- v7: Redis 7 or later, with PEXPIRE's LT, SET's GET, GETDEL
local v7 = ` + luaRedis7 + ` and not string.find(flags, 'L', 1, true)

-- A save from a missing partner or old record stores nothing.
local pleft -- the partner's life in ms, -1 for no expiry
if p then
  pleft = redis.call('PTTL', p)
  if pleft == -2 then
    if o and redis.call('EXISTS', o) == 0 then return 'old' end
    return 'partner'
  end
  if pleft == 0 then pleft = 1 end
end
-- The old record lives at most stale ms more (0 deletes it), never longer
-- than it would; left is its life after the save, shortened whether it was.
local left, shortened
if o then
  if v7 and o ~= k and redis.call('PEXPIRE', o, stale, 'LT') == 1 then
    left, shortened = stale, true
  else
    left = redis.call('PTTL', o)
    if left == -2 then return 'old' end
    if left == 0 then left = 1 end
    if not v7 and o ~= k and (left == -1 or left > stale) then
      redis.call('PEXPIRE', o, stale)
      left, shortened = stale, true
    end
  end
elseif ARGV[14] and ARGV[14] ~= '0' and not p and KEYS[n] then
` + luaRecordParts + luaIndexRemove + luaEndRecord + luaLimit + `
  local pairs = {}
  for i = 19, #ARGV do pairs[#pairs + 1] = ARGV[i] end
  if limit(KEYS[n], ARGV[7], ARGV[18], tonumber(ARGV[14]), ARGV[15] == '1', ARGV[16], ARGV[17], pairs, ARGV[9]) then
    return 'limit'
  end
end

-- g: the group the record joins; adds: the (score, member) pairs the save
-- gives it, in one ZADD; far: the farthest of their lives in ms (-1: one
-- never expires).
local g, oldg, adds, far
if o then oldg = redis.call('GET', lo) end
if p then
  g = redis.call('GET', lp)
  if not g then -- founded, the partner its first member
    g = companion(p, 'members:' .. ARGV[5])
    if pleft == -1 then
      redis.call('SET', lp, g)
      adds, far = {'+inf', p}, -1
    else
      redis.call('SET', lp, g, 'PX', pleft)
      adds, far = {now + pleft, p}, pleft
    end
  end
elseif o then
  g = oldg
  if not g then -- founded, the old record its first member unless gone
    g = companion(o, 'members:' .. ARGV[5])
    if left == -1 then
      redis.call('SET', lo, g)
      adds, far = {'+inf', o}, -1
    elseif left > 0 then
      redis.call('SET', lo, g, 'PX', left)
      adds, far = {now + left, o}, left
    end
    oldg, shortened = g, false -- its link is new, with its life
  end
elseif seen then
  g = companion(k, 'members:' .. ARGV[5]) -- a group of its own, to hold its info
end
adds, far = adds or {}, far or 0

-- The record and its link; the record leaves the group its key was in.
redis.call('SET', k, v, 'PX', ttl)
local prev
if g then
  if v7 then
    prev = redis.call('SET', lk, g, 'PX', ttl, 'GET')
  else
    prev = redis.call('GET', lk)
    redis.call('SET', lk, g, 'PX', ttl)
  end
  adds[#adds + 1], adds[#adds + 2] = now + ttl, k
  if far ~= -1 and ttl > far then far = ttl end
elseif v7 then
  prev = redis.call('GETDEL', lk)
else
  prev = redis.call('GET', lk)
  if prev then redis.call('DEL', lk) end
end
if prev and prev ~= g then redis.call('ZREM', prev, k) end

-- The old record's link expires with it, and its expiry moves in its group.
local drop = false
if shortened then
  redis.call('PEXPIRE', lo, stale)
  if oldg then
    if stale <= 0 then
      drop = true
    elseif oldg == g then
      adds[#adds + 1], adds[#adds + 2] = now + stale, o
    else
      redis.call('ZADD', oldg, 'XX', now + stale, o)
    end
  end
end

if g then
  local gl = redis.call('PTTL', g) -- -2: a new group, -1: one with a member that never expires
  redis.call('ZADD', g, unpack(adds))
  -- gt: the group's new expiry in ms, when it changes (-1: none); prune:
  -- whether the save prunes it (when it moves its expiry, or on every save
  -- of a group that never expires)
  local gt, prune
  if far == -1 then
    if gl ~= -1 then
      redis.call('PERSIST', g)
      gt = -1
    end
    prune = gl ~= -2
  elseif gl == -1 then
    prune = true
  elseif gl == -2 or gl < far + GRACE / 2 then
    gt, prune = far + GRACE, gl ~= -2
    redis.call('PEXPIRE', g, gt)
  end
  if prune then
    -- Members that expired more than GRACE ago by their scores, and whose
    -- records are gone, leave.
    local dead = {}
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', g, '-inf', '(' .. (now - GRACE))) do
      if m ~= '' and redis.call('EXISTS', m) == 0 then dead[#dead + 1] = m end
      if #dead == 1000 then
        redis.call('ZREM', g, unpack(dead))
        dead = {}
      end
    end
    if #dead > 0 then redis.call('ZREM', g, unpack(dead)) end
  end
  -- The group info, in the hash "<group>:{info}" (c: created, s: seen,
  -- f: facts), lives as long as the group.
  local info
  if seen then
    info = companion(g, 'info')
    local created
    if ARGV[12] == '1' then
      created = redis.call('HSETNX', info, 'c', seen) == 1
      redis.call('HSET', info, 's', seen, 'f', ARGV[13])
    else
      created = redis.call('HSET', info, 's', seen) == 1
      if created then redis.call('HSET', info, 'c', seen) end
    end
    if created and not gt then gt = redis.call('PTTL', g) end
  end
  if gt then
    info = info or companion(g, 'info')
    if gt == -1 then
      redis.call('PERSIST', info)
    elseif gt > 0 then
      redis.call('PEXPIRE', info, gt)
    end
  end
end
if drop then redis.call('ZREM', oldg, o) end

if #KEYS >= n then
` + luaIndexAdd + `
  for i = n, #KEYS do index_add(KEYS[i], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ttl) end
end
return 'ok'
`)

// luaRedis7 is true on Redis 7 or later (0x070000), which sets
// REDIS_VERSION_NUM.
const luaRedis7 = `((redis.REDIS_VERSION_NUM or 0) >= 458752)`

// replaceScript sets the value of an existing record, keeping its expiry.
//
//	KEYS record    ARGV value    → 1, or 0 when missing
var replaceScript = redis.NewScript(`
local t = redis.call('PTTL', KEYS[1])
if t == -2 then return 0 end
if t == -1 then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(t, 1))
end
return 1
`)
