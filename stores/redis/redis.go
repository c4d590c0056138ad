package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
)

// Store is a session.Store and session.SubjectIndex on Redis. It is safe for
// concurrent use; make one with New.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	suffix       string
	perKey       bool // a cluster or ring: one script call per key
	waitReplicas int
	waitTimeout  time.Duration
}

var (
	_ session.Store        = (*Store)(nil)
	_ session.SubjectIndex = (*Store)(nil)
)

// New returns a Store that keeps sessions in Redis through client: a
// *redis.Client (one server, or a Sentinel master from
// redis.NewFailoverClient), a *redis.ClusterClient or a *redis.Ring. The
// store does not close the client.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{client: client}
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		s.perKey = true
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Key returns the name of the Redis key that holds the record of the
// session cookie name and storage key: "[prefix:]name:key[:suffix]".
func (s *Store) Key(name, key string) string { return session.StoreKey(s.prefix, s.suffix, name, key) }

// IndexKey returns the name of the sorted set that indexes the sessions of
// an encoded audience and subject: "[prefix:]name:audience:subject[:suffix]".
func (s *Store) IndexKey(name, audience, subject string) string {
	return session.StoreKey(s.prefix, s.suffix, name, audience, subject)
}

// Get returns the record stored under name and key. A missing or expired
// record is an error matching session.ErrNotFound; Redis expires records on
// its own clock, so opts.Now is not used.
func (s *Store) Get(ctx context.Context, name, key string, _ session.GetOptions) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, storeError("get", err)
	}
	b, err := s.client.Get(ctx, s.Key(name, key)).Bytes()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("redisstore: get: %w (%w)", session.ErrNotFound, err)
		}
		return nil, storeError("get", err)
	}
	return b, nil
}

// Set stores value under name and key for opts.TTL and, in the same round
// trip, shortens the expiry of the opts.OldKey record to opts.StaleTTL
// (never lengthening it) and adds key to the subject index of each
// audience and subject of opts.Metadata, removing opts.OldKey from it and
// pruning entries that expired by opts.Now. See the package documentation
// for atomicity in a Redis Cluster.
func (s *Store) Set(ctx context.Context, name, key string, value []byte, opts session.SetOptions) error {
	if err := ctx.Err(); err != nil {
		return storeError("set", err)
	}
	if opts.TTL <= 0 {
		return fmt.Errorf("redisstore: set: invalid ttl %v: %w", opts.TTL, session.ErrStore)
	}
	md := opts.Metadata
	if md != nil && len(md.Audiences) != len(md.Subjects) {
		return fmt.Errorf("redisstore: set: metadata has %d audiences and %d subjects: %w",
			len(md.Audiences), len(md.Subjects), session.ErrStore)
	}
	oldKey := opts.OldKey
	if oldKey == key {
		oldKey = ""
	}
	k := s.Key(name, key)
	if oldKey == "" && (md == nil || len(md.Audiences) == 0) && !s.waits() {
		if err := s.client.Set(ctx, k, value, opts.TTL).Err(); err != nil {
			return storeError("set", err)
		}
		return nil
	}

	n := 2
	if md != nil {
		n += len(md.Audiences)
	}
	keys := make([]string, 0, n)
	roles := make([]byte, 0, n)
	keys, roles = append(keys, k), append(roles, roleSet)
	if oldKey != "" {
		keys, roles = append(keys, s.Key(name, oldKey)), append(roles, roleStale)
	}
	if md != nil {
		for i := range md.Audiences {
			keys, roles = append(keys, s.IndexKey(name, md.Audiences[i], md.Subjects[i])), append(roles, roleIndexAdd)
		}
	}
	now := unix(opts.Now)
	ttl := opts.TTL.Milliseconds()
	expires := now + int64((opts.TTL+time.Second-1)/time.Second)
	return s.run(ctx, "set", keys, roles, value, ttl, opts.StaleTTL.Milliseconds(), key, oldKey, now, expires)
}

// Delete removes the record under name and key, and key from the subject
// index of each audience and subject of opts.Metadata (pruning entries that
// expired by opts.Now), in one round trip. Deleting a missing record is not
// an error.
func (s *Store) Delete(ctx context.Context, name, key string, opts session.DeleteOptions) error {
	if err := ctx.Err(); err != nil {
		return storeError("delete", err)
	}
	md := opts.Metadata
	k := s.Key(name, key)
	if (md == nil || len(md.Audiences) == 0) && !s.waits() {
		if err := s.client.Unlink(ctx, k).Err(); err != nil {
			return storeError("delete", err)
		}
		return nil
	}
	n := 1
	if md != nil {
		n += min(len(md.Audiences), len(md.Subjects))
	}
	keys := make([]string, 0, n)
	roles := make([]byte, 0, n)
	keys, roles = append(keys, k), append(roles, roleDelete)
	for i := 1; i < n; i++ {
		keys, roles = append(keys, s.IndexKey(name, md.Audiences[i-1], md.Subjects[i-1])), append(roles, roleIndexRemove)
	}
	return s.run(ctx, "delete", keys, roles, "", 0, 0, key, "", unix(opts.Now), 0)
}

// Sessions lists the live sessions of an encoded audience and subject under
// the cookie name, soonest to expire first, and prunes the entries that
// expired by now (one round trip). It implements session.SubjectIndex.
func (s *Store) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]session.IndexEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, storeError("sessions", err)
	}
	k := s.IndexKey(name, audience, subject)
	t := strconv.FormatInt(unix(now), 10)
	var zs *redis.ZSliceCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, k, "-inf", t)
		zs = p.ZRangeByScoreWithScores(ctx, k, &redis.ZRangeBy{Min: "(" + t, Max: "+inf"})
		return nil
	})
	if err != nil {
		return nil, storeError("sessions", err)
	}
	out := make([]session.IndexEntry, 0, len(zs.Val()))
	for _, z := range zs.Val() {
		member, _ := z.Member.(string)
		out = append(out, session.IndexEntry{Key: member, Expires: time.Unix(int64(z.Score), 0)})
	}
	return out, nil
}

func (s *Store) waits() bool { return s.waitReplicas > 0 && !s.perKey }

// run applies the store script to keys, each with its role: as one script
// call on a single server, or one call per key, pipelined, in a cluster.
// The arguments after roles are those of the script (see script.go).
func (s *Store) run(ctx context.Context, op string, keys []string, roles []byte, args ...any) error {
	if !s.perKey && !s.waits() {
		all := append([]any{string(roles)}, args...)
		if err := storeScript.Run(ctx, s.client, keys, all...).Err(); err != nil {
			return storeError(op, err)
		}
		return nil
	}
	for _, sha := range [...]bool{true, false} {
		var wait *redis.IntCmd
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			call := storeScript.Eval
			if sha {
				call = storeScript.EvalSha
			}
			if !s.perKey {
				call(ctx, p, keys, append([]any{string(roles)}, args...)...)
			} else {
				for i, k := range keys {
					call(ctx, p, []string{k}, append([]any{string(roles[i : i+1])}, args...)...)
				}
			}
			if s.waits() {
				wait = redis.NewIntCmd(ctx, "wait", s.waitReplicas, s.waitTimeout.Milliseconds())
				_ = p.Process(ctx, wait)
			}
			return nil
		})
		if sha && redis.HasErrorPrefix(err, "NOSCRIPT") {
			continue // not cached on some server yet: send the source once
		}
		if err != nil {
			return storeError(op, err)
		}
		if wait != nil && wait.Val() < int64(s.waitReplicas) {
			return fmt.Errorf("redisstore: %s: %d of %d replicas acknowledged the write: %w",
				op, wait.Val(), s.waitReplicas, session.ErrStore)
		}
		return nil
	}
	return nil
}

// unix returns t in unix seconds, or the current time when t is zero.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return time.Now().Unix()
	}
	return t.Unix()
}

func storeError(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w: %w", op, session.ErrStore, err)
}
