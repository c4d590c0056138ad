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
//	ARGV flags ("o" with the old record, "p" with the partner, "s" with group info),
//	     value, ttl ms, stale ms, nonce (names a group the save founds),
//	     [key, old key or "", now (unix s), expires (unix s),
//	     [seen (unix ms) or "", "1"/"0" (with facts), facts, limit or "0", refuse "1"/"0",
//	     "prefix:" or "", ":suffix" or "", cookie name, "audience:subject"...]]
//	→ "ok", "old", "partner" (missing) or "limit" (refused)
//
// The ARGV in brackets are sent only when a save has an index, group info or
// a limit (see saveAtomic).
//
// The group is written with as few calls as the layout allows, which is
// what a save costs (each write call in a script costs about a
// microsecond): the new record's link, and one ZADD for every member the
// save adds or moves (the new record, the stale old record, a founding
// member). The group's own expiry and the pruning of its long-expired
// members are left alone while the group outlives its longest-lived member
// by more than half of groupGrace: a session saved many times a minute
// moves them at most twice a minute. The group info is one HSET of the
// seen time (with the facts, when given); its expiry follows the group's.
var saveScript = redis.NewScript(luaHead + `
local GRACE = ` + strconv.FormatInt(groupGrace.Milliseconds(), 10) + `
` + luaCompanion + `
local k, lk, flags, v, ttl, stale = KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local n, o, lo, p, lp = 3
if string.find(flags, 'o', 1, true) then o, lo, n = KEYS[3], KEYS[4], 5 end
if string.find(flags, 'p', 1, true) then p, lp, n = KEYS[n], KEYS[n + 1], n + 2 end
local seen = ''
if string.find(flags, 's', 1, true) then seen = ARGV[10] end

-- what is left of the old record's and the partner's lives, in ms: -1 for
-- no expiry
local left, pleft
if o then
  left = redis.call('PTTL', o)
  if left == -2 then return 'old' end
  if left == 0 then left = 1 end
end
if p then
  pleft = redis.call('PTTL', p)
  if pleft == -2 then return 'partner' end
  if pleft == 0 then pleft = 1 end
end

local lim = tonumber(ARGV[13] or '0') or 0
if lim > 0 and not o and not p and KEYS[n] then
` + luaRecordParts + luaIndexRemove + luaEndRecord + luaLimit + `
  local pairs = {}
  for i = 18, #ARGV do pairs[#pairs + 1] = ARGV[i] end
  if limit(KEYS[n], ARGV[6], ARGV[17], lim, ARGV[14] == '1', ARGV[15], ARGV[16], pairs, ARGV[8]) then
    return 'limit'
  end
end

-- Group members are scored by their expiry in ms of Redis's clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- adds are the (score, member) pairs the save gives its group g, in one
-- ZADD; far is the farthest of their lives in ms (-1: one never expires).
local adds, far = {}, 0
local function join(m, life)
  if life == -1 then
    adds[#adds + 1], far = '+inf', -1
  else
    adds[#adds + 1] = now + life
    if far ~= -1 and life > far then far = life end
  end
  adds[#adds + 1] = m
end

-- found founds a group for the record r (link key lr, life ms to live), r
-- its first member: the group the save's record joins.
local function found(r, lr, life)
  local g = companion(r, 'members:' .. ARGV[5])
  if life == -1 then redis.call('SET', lr, g) else redis.call('SET', lr, g, 'PX', life) end
  join(r, life)
  return g
end

local g, oldg
if o then oldg = redis.call('GET', lo) end
if p then
  g = redis.call('GET', lp) or found(p, lp, pleft)
elseif o then
  oldg = oldg or found(o, lo, left)
  g = oldg
elseif seen ~= '' then
  g = companion(k, 'members:' .. ARGV[5]) -- a group of its own, to hold its info
end

-- The record and its link; the record leaves the group its key was in.
local prev = redis.call('GET', lk)
redis.call('SET', k, v, 'PX', ttl)
if g then
  redis.call('SET', lk, g, 'PX', ttl)
  join(k, ttl)
elseif prev then
  redis.call('DEL', lk)
end
if prev and prev ~= g then redis.call('ZREM', prev, k) end

-- The old record and its link live at most stale ms (0 deletes them),
-- never longer than they would, and its expiry in its group moves with them.
local drop = false
if o and o ~= k and (left == -1 or left > stale) then
  redis.call('PEXPIRE', o, stale)
  redis.call('PEXPIRE', lo, stale)
  if oldg then
    if stale <= 0 then
      drop = true
    elseif oldg == g then
      join(o, stale)
    else
      redis.call('ZADD', oldg, 'XX', now + stale, o)
    end
  end
end

if g then
  local gl = redis.call('PTTL', g) -- -2: a new group, -1: one with a member that never expires
  redis.call('ZADD', g, unpack(adds))
  -- gt: the group's new expiry in ms, when it changes (-1: none)
  local gt
  if far == -1 then
    if gl ~= -1 then
      redis.call('PERSIST', g)
      gt = -1
    end
  elseif gl == -2 or (gl ~= -1 and gl < far + GRACE / 2) then
    if gl ~= -2 then redis.call('ZREMRANGEBYSCORE', g, '-inf', '(' .. (now - GRACE)) end
    gt = far + GRACE
    redis.call('PEXPIRE', g, gt)
  end
  -- The group info, in the hash "<group>:{info}" (c: created, s: seen,
  -- f: facts), lives as long as the group.
  local info = companion(g, 'info')
  if seen ~= '' then
    local created
    if ARGV[11] == '1' then
      created = redis.call('HSETNX', info, 'c', seen) == 1
      redis.call('HSET', info, 's', seen, 'f', ARGV[12])
    else
      created = redis.call('HSET', info, 's', seen) == 1
      if created then redis.call('HSET', info, 'c', seen) end
    end
    if created and not gt then gt = redis.call('PTTL', g) end
  end
  if gt == -1 then
    redis.call('PERSIST', info)
  elseif gt and gt > 0 then
    redis.call('PEXPIRE', info, gt)
  end
end
if drop then redis.call('ZREM', oldg, o) end

if #KEYS >= n then
` + luaIndexAdd + `
  for i = n, #KEYS do index_add(KEYS[i], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ttl) end
end
return 'ok'
`)

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
