package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// Group info (store.GroupInfoReader). On a single server or a Sentinel
// master, a save with SetOptions.Seen writes, in its one script call, the
// hash "<group key>:{info}" (fields c: created, s: seen, both unix ms, and
// f: facts), living as long as the group; such a save founds a group for a
// record that joins none, so that every signed-in browser session has one.
// Delete removes the hash with its group. In a Redis Cluster or a Ring,
// where a save's keys span slots, no info is written: GroupInfo gives the
// group's ID alone, which still links a browser's records.

// GroupInfo returns the info of the group of the record under name and key:
// its ID (a hash of the group's key, or of the record's key for a record of
// a group of its own), and its times and facts. A missing or expired record
// is an error matching session.ErrNotFound. Two round trips when the record
// is in a group, one otherwise.
func (s *Store) GroupInfo(ctx context.Context, name, key string, _ time.Time) (store.GroupInfo, error) {
	if err := ctx.Err(); err != nil {
		return store.GroupInfo{}, storeError("group info", err)
	}
	rec := s.record(name, key)
	var exists *redis.IntCmd
	var link *redis.StringCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, rec.key)
		link = p.Get(ctx, rec.link)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.GroupInfo{}, storeError("group info", err)
	}
	if exists.Val() == 0 {
		return store.GroupInfo{}, fmt.Errorf("redisstore: group info: %w", session.ErrNotFound)
	}
	g := link.Val()
	if g == "" {
		return store.GroupInfo{ID: groupID("r", rec.key)}, nil
	}
	out := store.GroupInfo{ID: groupID("g", g)}
	if s.perKey {
		return out, nil
	}
	h, err := s.client.HGetAll(ctx, companion(g, "info")).Result()
	if err != nil {
		return store.GroupInfo{}, storeError("group info", err)
	}
	if ms, err := strconv.ParseInt(h["c"], 10, 64); err == nil {
		out.Created = time.UnixMilli(ms)
	}
	if ms, err := strconv.ParseInt(h["s"], 10, 64); err == nil {
		out.Seen = time.UnixMilli(ms)
	}
	if f, ok := h["f"]; ok {
		out.Facts = []byte(f)
	}
	return out, nil
}

// groupID names a group by a hash of its key (kind "g") or of the key of
// the record that is a group of its own (kind "r").
func groupID(kind, k string) string {
	sum := sha256.Sum256([]byte(kind + ":" + k))
	return hex.EncodeToString(sum[:16])
}

var _ store.GroupInfoReader = (*Store)(nil)

// LimitsSessions reports whether the store caps the sessions of a subject
// atomically (store.SessionLimiter): on a single server or a Sentinel
// master, where a login's save is one script call that counts the
// subject's live records, and ends the soonest to expire or refuses, before
// it writes. Not in a Redis Cluster or a Ring: the session package caps
// sessions there itself, best effort.
func (s *Store) LimitsSessions() bool { return !s.perKey }

var _ store.SessionLimiter = (*Store)(nil)
