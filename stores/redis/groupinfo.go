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

// Group info (store.GroupInfoReader). A save with SetOptions.Seen writes
// the hash "<group key>:{info}" (fields c: created, s: seen, both unix ms,
// and f: facts), living as long as the group; such a save founds a group for
// a record that joins none, so that every signed-in browser session has
// one. Delete removes the hash with its group. On a single server or a
// Sentinel master it is written in the save's one script call. In a Redis
// Cluster or a Ring, the hash's first hash tag is its group's, so it lives
// in the group's slot, and the save writes it in the call that joins the
// group (its last round); a Delete removes it when it marks the group as
// ended.

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
// sessions there itself, best effort. There the subject's index lives in
// one slot and its records in others, and no script or transaction spans
// slots, so no single step can both count the live records and write the
// login's: a reservation in the index's slot could order two logins of one
// subject, but it would count index entries, not live records (checking a
// record is a call on its own node, a round earlier), and a node failing
// between the rounds that end the oldest sessions would leave more than
// the cap alive, which an atomic cap promises never to do.
func (s *Store) LimitsSessions() bool { return !s.perKey }

var _ store.SessionLimiter = (*Store)(nil)
