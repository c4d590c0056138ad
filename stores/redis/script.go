package redisstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
)

// The store's writes are Lua scripts, so that each is atomic on its server:
// saveScript and replaceScript (savescript.go) for the saves of a single
// server or a Sentinel master, and storeScript for everything else. The Lua
// they share is in the lua* constants below, each a piece of a chunk.

// luaHead turns on effects replication, which a script that writes what it
// read needs (TIME, PTTL, EXISTS read otherwise on a replica): the default
// from Redis 5, turned on by redis.replicate_commands on Redis 3.2 and 4.
const luaHead = `if redis.replicate_commands then redis.replicate_commands() end
`

// luaCompanion defines companion(k, marker): the name of a bookkeeping key
// of the record key k, in k's hash slot (companion in group.go).
const luaCompanion = `
local function companion(k, marker)
  local i = string.find(k, '{', 1, true)
  if i then
    local j = string.find(k, '}', i + 1, true)
    if j and j > i + 1 then return k .. ':{' .. marker .. '}' end
  end
  return '{' .. k .. '}:' .. marker
end
`

// luaIndexAdd defines index_add: the storage key key joins the subject
// index k with its expiry (unix s), replacing old, as the reference's save
// does; expired entries are pruned and the index lives as long as its
// longest-lived entry.
const luaIndexAdd = `
local function index_add(k, key, old, now, expires, ttl)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  redis.call('ZADD', k, expires, key)
  if old ~= '' then redis.call('ZREM', k, old) end
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
`

// luaIndexRemove defines index_remove: key leaves the index k, whose expired
// entries are pruned.
const luaIndexRemove = `
local function index_remove(k, key, now)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  redis.call('ZREM', k, key)
end
`

// luaRecordParts defines record_parts(m, pre, suf): the cookie name and
// storage key of the record key m, with the prefix pre ("p:" or "") and
// suffix suf (":s" or "") (recordParts in redis.go).
const luaRecordParts = `
local function record_parts(m, pre, suf)
  if #m <= #pre + #suf or string.sub(m, 1, #pre) ~= pre then return nil end
  if #suf > 0 and string.sub(m, -#suf) ~= suf then return nil end
  local mid = string.sub(m, #pre + 1, #m - #suf)
  local i = string.find(mid, ':', 1, true)
  if not i or i == 1 or i == #mid or string.find(mid, ':', i + 1, true) then return nil end
  return string.sub(mid, 1, i - 1), string.sub(mid, i + 1)
end
`

// luaEndRecord defines end_record(k, key, name, pre, suf, pairs, now): it
// ends the record k (storage key key, cookie name name) as a delete does:
// with its group and the group's info, out of the indexes of pairs
// ("audience:subject") under each record's own cookie name. It needs
// companion, record_parts and index_remove.
const luaEndRecord = `
local function end_record(k, key, name, pre, suf, pairs, now)
  local lk = companion(k, 'group')
  local g = redis.call('GET', lk)
  redis.call('UNLINK', k, lk)
  local gone = {{name, key}}
  if g then
    for _, m in ipairs(redis.call('ZRANGE', g, 0, -1)) do
      redis.call('UNLINK', m, companion(m, 'group'))
      if m ~= k then
        local n2, k2 = record_parts(m, pre, suf)
        if n2 then gone[#gone + 1] = {n2, k2} end
      end
    end
    redis.call('UNLINK', g, companion(g, 'info'))
  end
  for _, r in ipairs(gone) do
    for _, pair in ipairs(pairs) do index_remove(pre .. r[1] .. ':' .. pair .. suf, r[2], now) end
  end
end
`

// luaLimit defines limit(ik, key, name, lim, refuse, pre, suf, pairs, now):
// it caps the live records of the index ik (cookie name name) at lim - 1
// before a login's record (storage key key) is written: it refuses (true)
// with refuse, or ends those that expire soonest. It needs end_record.
const luaLimit = `
local function limit(ik, key, name, lim, refuse, pre, suf, pairs, now)
  redis.call('ZREMRANGEBYSCORE', ik, '-inf', now)
  local live = {}
  for _, m in ipairs(redis.call('ZRANGE', ik, 0, -1)) do
    if m ~= key and redis.call('EXISTS', pre .. name .. ':' .. m .. suf) == 1 then live[#live + 1] = m end
  end
  if #live < lim then return false end
  if refuse then return true end
  for i = 1, #live - lim + 1 do end_record(pre .. name .. ':' .. live[i] .. suf, live[i], name, pre, suf, pairs, now) end
  return false
end
`

// storeScript holds the store's writes other than the saves of a single
// server, one operation per call, named by ARGV[1]. Each operation touches
// only the keys it is given in KEYS, except "delete" and "unlink", which run
// on a single server (or a Sentinel master) and also reach the keys named by
// group bookkeeping keys.
//
// On a single server a delete is one "delete": atomic, one round trip. In a
// Redis Cluster (or a Ring) every other operation runs on the keys of one
// hash slot, and cluster.go chains them.
//
//	delete   KEYS record, link, index...             ARGV "delete", key, now (unix s), "prefix:" or "",
//	         ":suffix" or "", then "audience:subject" per index (for the indexes of the group's
//	         other records, under their cookie names)
//	unlink   KEYS record, link                       ARGV "unlink", group
//	         (the record, set anew as a record of no group, leaves the group its link names)
//	check    KEYS record, link, a new group          ARGV "check", found ("1": found a group
//	         when the record has none)               → {1, its group or ""}, or {0} when missing
//	write    KEYS record, link                       ARGV "write", value, ttl ms, group or ""
//	         → the group the record leaves, or ""
//	join     KEYS group, its info                    ARGV "join", must ("1": fail when the group
//	         has ended), seen (unix ms) or "", "1"/"0" (with facts), facts,
//	         then (member, ms, "add"/"cap"/"leave") triples → 1, or 0 when ended
//	stale    KEYS record, link                       ARGV "stale", stale ms
//	end      KEYS group, its info                    ARGV "end"   → the members; marks the group
//	         ended, removes its info
//	ended    KEYS group                              ARGV "ended" (keeps only the mark, for endedTTL)
//	drop     KEYS record, link                       ARGV "drop", "all" or "lone" (only a record of
//	         no group)                               → its group, or ""
//	index    KEYS index                              ARGV "index", "add"/"remove", key, old key or "",
//	         now (unix s), expires (unix s), ttl ms
//
// Group members are scored by their expiry in milliseconds of Redis's own
// clock (TIME), the clock that expires the records.
var storeScript = redis.NewScript(luaHead + `
local GRACE, ENDED_TTL = ` + strconv.FormatInt(groupGrace.Milliseconds(), 10) + `, ` +
	strconv.FormatInt(endedTTL.Milliseconds(), 10) + `
-- ENDED is the member that marks a group as ended (no record key is empty);
-- it scores +inf, so that no pruning drops it.
local ENDED = ''

-- clock is Redis's time in milliseconds.
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
` + luaCompanion + luaIndexAdd + luaIndexRemove + luaRecordParts + `
-- life is what is left of k's life in ms: -1 for no expiry, -2 when missing.
local function life(k)
  local t = redis.call('PTTL', k)
  if t == 0 then return 1 end
  return t
end

-- setpx stores v under k for t ms (-1: no expiry).
local function setpx(k, v, t)
  if t == -1 then redis.call('SET', k, v) else redis.call('SET', k, v, 'PX', t) end
end

-- shorten makes the record k, with left ms to live, and its link l live at
-- most t ms (0 deletes them), never longer than they would; it reports
-- whether it did. A link always expires with its record.
local function shorten(k, l, left, t)
  if left ~= -1 and left <= t then return false end
  redis.call('PEXPIRE', k, t)
  redis.call('PEXPIRE', l, t)
  return true
end

-- member adds m, with t ms to live, to group g (or moves its expiry), drops
-- the members that expired more than GRACE ago, and keeps g alive as long
-- as its longest-lived member, plus GRACE.
local function member(g, m, t, now)
  redis.call('ZREMRANGEBYSCORE', g, '-inf', '(' .. (now - GRACE))
  if t == -1 then
    redis.call('ZADD', g, '+inf', m)
    redis.call('PERSIST', g)
    return
  end
  local left = redis.call('PTTL', g) -- -2: a new group, -1: one with a member that never expires
  redis.call('ZADD', g, now + t, m)
  if left == -2 or (left ~= -1 and left < t + GRACE) then redis.call('PEXPIRE', g, t + GRACE) end
end

-- cap makes m's expiry in group g at most t ms away (0: removes m).
local function cap(g, m, t, now)
  if t <= 0 then
    redis.call('ZREM', g, m)
    return
  end
  local score = tonumber(redis.call('ZSCORE', g, m))
  if score and score > now + t then redis.call('ZADD', g, now + t, m) end
end

-- leave removes m from group g.
local function leave(g, m) redis.call('ZREM', g, m) end

local function ended(g) return redis.call('ZSCORE', g, ENDED) ~= false end

-- found founds the group g of the record k (link key l, t ms to live), k
-- its first member, and returns g.
local function found(k, l, g, t, now)
  setpx(l, g, t)
  member(g, k, t, now)
  return g
end

-- write stores the record k (link key l) for ttl ms in group g (nil: a
-- group of its own) and returns the group it leaves, if any.
local function write(k, l, v, ttl, g)
  local prev = redis.call('GET', l)
  setpx(k, v, ttl)
  if g then
    setpx(l, g, ttl)
  elseif prev then
    redis.call('DEL', l)
  end
  if prev ~= g then return prev end
  return nil
end

local ops = {}

function ops.delete()
  local g = redis.call('GET', KEYS[2])
  redis.call('UNLINK', KEYS[1], KEYS[2])
  local others = {}
  if g then
    for _, m in ipairs(redis.call('ZRANGE', g, 0, -1)) do
      redis.call('UNLINK', m, companion(m, 'group'))
      if m ~= KEYS[1] then others[#others + 1] = m end
    end
    redis.call('UNLINK', g, companion(g, 'info'))
  end
  for i = 3, #KEYS do index_remove(KEYS[i], ARGV[2], ARGV[3]) end
  -- The group's other records leave the indexes of the same audiences and
  -- subjects under their own cookie names.
  local pre, suf = ARGV[4], ARGV[5]
  for _, m in ipairs(others) do
    local name, key = record_parts(m, pre, suf)
    if name then
      for j = 6, #ARGV do index_remove(pre .. name .. ':' .. ARGV[j] .. suf, key, ARGV[3]) end
    end
  end
  return 'ok'
end

function ops.unlink()
  if redis.call('GET', KEYS[2]) == ARGV[2] then
    redis.call('DEL', KEYS[2])
    leave(ARGV[2], KEYS[1])
  end
  return 1
end

function ops.check()
  local t = life(KEYS[1])
  if t == -2 then return {0} end
  local g = redis.call('GET', KEYS[2])
  if not g and ARGV[2] == '1' then g = found(KEYS[1], KEYS[2], KEYS[3], t, clock()) end
  return {1, g or ''}
end

function ops.write()
  local g = ARGV[4]
  if g == '' then g = nil end
  return write(KEYS[1], KEYS[2], ARGV[2], tonumber(ARGV[3]), g) or ''
end

function ops.join()
  local g = KEYS[1]
  if ended(g) then
    if ARGV[2] == '1' then return 0 end
    return 1
  end
  local now = clock()
  for i = 6, #ARGV, 3 do
    local m, t, how = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
    if how == 'add' then member(g, m, t, now)
    elseif how == 'cap' then cap(g, m, t, now)
    else leave(g, m) end
  end
  local seen = ARGV[3]
  if seen ~= '' then
    -- The group info (KEYS[2], in the group's slot) lives as long as the group.
    local info = KEYS[2]
    redis.call('HSETNX', info, 'c', seen)
    if ARGV[4] == '1' then
      redis.call('HSET', info, 's', seen, 'f', ARGV[5])
    else
      redis.call('HSET', info, 's', seen)
    end
    local left = redis.call('PTTL', g)
    if left == -1 then redis.call('PERSIST', info) elseif left > 0 then redis.call('PEXPIRE', info, left) end
  end
  return 1
end

function ops.stale()
  shorten(KEYS[1], KEYS[2], redis.call('PTTL', KEYS[1]), tonumber(ARGV[2]))
  return 1
end

ops['end'] = function()
  local g = KEYS[1]
  redis.call('UNLINK', KEYS[2]) -- the group info
  local gone = redis.call('EXISTS', g) == 0
  redis.call('ZADD', g, '+inf', ENDED)
  if gone then redis.call('PEXPIRE', g, ENDED_TTL) end
  local members = {}
  for _, m in ipairs(redis.call('ZRANGE', g, 0, -1)) do
    if m ~= ENDED then members[#members + 1] = m end
  end
  return members
end

function ops.ended()
  redis.call('DEL', KEYS[1])
  redis.call('ZADD', KEYS[1], '+inf', ENDED)
  redis.call('PEXPIRE', KEYS[1], ENDED_TTL)
  return 1
end

function ops.drop()
  local g = redis.call('GET', KEYS[2])
  if g and ARGV[2] == 'lone' then return g end
  redis.call('UNLINK', KEYS[1], KEYS[2])
  return g or ''
end

function ops.index()
  if ARGV[2] == 'add' then
    index_add(KEYS[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]))
  else
    index_remove(KEYS[1], ARGV[3], ARGV[5])
  end
  return 1
end

return ops[ARGV[1]]()
`)

// A call is one run of a script (storeScript unless it says otherwise): an
// operation on keys, with its reply once sent.
type call struct {
	script *redis.Script
	keys   []string
	args   []any // for storeScript, args[0] names the operation
	cmd    *redis.Cmd
}

func newCall(keys []string, args ...any) *call {
	return &call{script: storeScript, keys: keys, args: args}
}

// exec sends calls in one round trip: a pipeline, which go-redis splits by
// node in a cluster and sends to the nodes in parallel. A call that a server
// refused with NOSCRIPT (not in its script cache yet: first use, restart,
// failover) did not run, and is sent once more with the script's source; the
// others ran and are not repeated. With WithWaitReplicas on a single server,
// a WAIT follows the calls in the same pipeline. op names the store
// operation in errors.
func (s *Store) exec(ctx context.Context, op string, calls ...*call) error {
	if len(calls) == 0 {
		return nil
	}
	wait := s.waits()
	if len(calls) == 1 && !wait {
		c := calls[0]
		c.cmd = c.script.EvalSha(ctx, s.client, c.keys, c.args...)
		if noScript(c.cmd.Err()) {
			c.cmd = c.script.Eval(ctx, s.client, c.keys, c.args...)
		}
		if err := c.cmd.Err(); err != nil {
			return storeError(op, err)
		}
		return nil
	}
	pending := calls
	for source := false; len(pending) > 0; source = true {
		var acked *redis.IntCmd
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range pending {
				if source {
					c.cmd = c.script.Eval(ctx, p, c.keys, c.args...)
				} else {
					c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
				}
			}
			if wait {
				acked = s.queueWait(ctx, p)
			}
			return nil
		})
		var retry []*call
		for _, c := range pending {
			switch e := c.cmd.Err(); {
			case !source && noScript(e):
				retry = append(retry, c)
			case e != nil:
				return storeError(op, e)
			}
		}
		if err != nil && len(retry) == 0 {
			return storeError(op, err)
		}
		if err := s.waited(op, acked); err != nil {
			return err
		}
		pending = retry
	}
	return nil
}

// queueWait queues, in p, the WAIT of WithWaitReplicas.
func (s *Store) queueWait(ctx context.Context, p redis.Pipeliner) *redis.IntCmd {
	acked := redis.NewIntCmd(ctx, "wait", s.waitReplicas, s.waitTimeout.Milliseconds())
	_ = p.Process(ctx, acked)
	return acked
}

// waited returns an error when acked, a WAIT that ran (nil: none), counts
// fewer replicas than WithWaitReplicas asks for.
func (s *Store) waited(op string, acked *redis.IntCmd) error {
	if acked != nil && acked.Err() == nil && acked.Val() < int64(s.waitReplicas) {
		return fmt.Errorf("redisstore: %s: %d of %d replicas acknowledged the write: %w",
			op, acked.Val(), s.waitReplicas, session.ErrStore)
	}
	return nil
}

func noScript(err error) bool { return redis.HasErrorPrefix(err, "NOSCRIPT") }
