package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

var _ store.Revoker = (*Store)(nil)

// Revocation marks. A mark is a string key of its own,
// "[prefix:]revoked:<mark key>[:suffix]" (the mark key is core's
// "sid:…", "sub:…" or "key:…"), holding the unix seconds of the mark's At in
// decimal, and expiring with Redis's own clock (PX) when the mark does.
//
// No record, index or group key takes such a name: a record key has two
// parts after the prefix (name, storage key), a group key has braces, and
// an index key of a cookie named "revoked" would need "sid", "sub" or "key"
// as its base64url audience, which no encoder writes (their last character
// leaves bits over).
const revokedPart = "revoked"

// RevokedKey returns the name of the Redis key that holds the revocation
// mark of key: "[prefix:]revoked:key[:suffix]".
func (s *Store) RevokedKey(key string) string {
	return store.Key(s.prefix, s.suffix, revokedPart, key)
}

// revokeScript writes marks: KEYS are the mark keys, ARGV the At (unix
// seconds, decimal) and the TTL (milliseconds) of each, in pairs. A live
// mark keeps the later At and the later expiry (one without an expiry, left
// by another writer, keeps none); a mark it leaves unchanged is not
// written. It runs on one server for all the marks, or once per mark in a
// cluster.
var revokeScript = redis.NewScript(`
for i, k in ipairs(KEYS) do
  local at, ttl = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
  local cur = redis.call('GET', k)
  local write = true
  if cur and tonumber(cur) then
    local left = redis.call('PTTL', k)
    write = false
    if tonumber(at) > tonumber(cur) then write = true else at = cur end
    if left == -1 then
      ttl = -1
    elseif ttl > left then
      write = true
    else
      ttl = left
    end
  end
  if write then
    if ttl == -1 then redis.call('SET', k, at) else redis.call('SET', k, at, 'PX', ttl) end
  end
end
return 1
`)

// Revoke writes marks, implementing store.Revoker. When a mark key already
// has a live mark, it keeps the later of the two At values and the later of
// the two expiries. Expiry is counted on Redis's clock (a TTL under one
// second counts as one second), so now is not used.
//
// On a single server or a Sentinel master it is one script call for all
// the marks: atomic, one round trip, followed by a WAIT in the same round
// trip with WithWaitReplicas. In a Redis Cluster (or a Ring) each mark is a
// script call of its own on the node of its key, the calls pipelined to
// the nodes in parallel: one round.
func (s *Store) Revoke(ctx context.Context, marks []store.Mark, _ time.Time) error {
	if err := ctx.Err(); err != nil {
		return storeError("revoke", err)
	}
	if len(marks) == 0 {
		return nil
	}
	keys := make([]string, len(marks))
	args := make([]any, 0, 2*len(marks))
	for i, m := range marks {
		keys[i] = s.RevokedKey(m.Key)
		args = append(args, m.At.Unix(), markTTL(m.TTL))
	}
	var calls []*call
	if s.perKey {
		calls = make([]*call, len(marks))
		for i := range marks {
			calls[i] = newCall(keys[i:i+1], args[2*i:2*i+2]...)
		}
	} else {
		calls = []*call{newCall(keys, args...)}
	}
	return s.runRevoke(ctx, calls)
}

// markTTL is the TTL of a mark in milliseconds: at least a second, a
// fraction of a millisecond rounded up.
func markTTL(ttl time.Duration) int64 {
	return int64((max(ttl, time.Second) + time.Millisecond - 1) / time.Millisecond)
}

// runRevoke runs revokeScript calls in one round trip, as exec does for the
// store's own script: EVALSHA, and the source once more for the calls a
// server refused with NOSCRIPT; a WAIT follows with WithWaitReplicas.
func (s *Store) runRevoke(ctx context.Context, calls []*call) error {
	wait := s.waits()
	pending := calls
	for source := false; len(pending) > 0; source = true {
		var acked *redis.IntCmd
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range pending {
				if source {
					c.cmd = revokeScript.Eval(ctx, p, c.keys, c.args...)
				} else {
					c.cmd = revokeScript.EvalSha(ctx, p, c.keys, c.args...)
				}
			}
			if wait {
				acked = redis.NewIntCmd(ctx, "wait", s.waitReplicas, s.waitTimeout.Milliseconds())
				_ = p.Process(ctx, acked)
			}
			return nil
		})
		var retry []*call
		for _, c := range pending {
			switch e := c.cmd.Err(); {
			case !source && noScript(e):
				retry = append(retry, c)
			case e != nil:
				return storeError("revoke", e)
			}
		}
		if err != nil && len(retry) == 0 {
			return storeError("revoke", err)
		}
		if acked != nil && acked.Err() == nil && acked.Val() < int64(s.waitReplicas) {
			return fmt.Errorf("redisstore: revoke: %d of %d replicas acknowledged the marks: %w",
				acked.Val(), s.waitReplicas, session.ErrStore)
		}
		pending = retry
	}
	return nil
}

// Revoked returns the At of the live mark of each key, in the order of
// keys, or the zero Time for a key without one, implementing
// store.Revoker. Marks expire on Redis's clock, so now is not used.
//
// On a single server or a Sentinel master it is one MGET: one round trip.
// In a Redis Cluster the keys hash to different slots, which no MGET may
// span: each key is a GET, pipelined to its node, the nodes in parallel,
// so the lookup takes one round (one round trip per node holding a key).
func (s *Store) Revoked(ctx context.Context, keys []string, _ time.Time) ([]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, storeError("revoked", err)
	}
	out := make([]time.Time, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = s.RevokedKey(k)
	}
	if !s.perKey {
		values, err := s.client.MGet(ctx, names...).Result()
		if err != nil {
			return nil, storeError("revoked", err)
		}
		for i, v := range values {
			if v == nil {
				continue
			}
			str, _ := v.(string)
			if out[i], err = markAt(names[i], str); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(names))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.Get(ctx, n)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, storeError("revoked", err)
	}
	for i, c := range cmds {
		v, err := c.Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			return nil, storeError("revoked", err)
		}
		if out[i], err = markAt(names[i], v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// markAt parses the value of the mark under name: unix seconds.
func markAt(name, v string) (time.Time, error) {
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("redisstore: revoked: mark %q holds %q, not unix seconds: %w", name, v, session.ErrStore)
	}
	return time.Unix(sec, 0), nil
}
