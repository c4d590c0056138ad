package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// Store is a session.Store and store.SubjectIndex on Redis. It is safe for
// concurrent use; make one with New.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	suffix       string
	perKey       bool // a cluster or ring: one script call per key
	legacy       bool // saves as on a server before Redis 7 (tests)
	waitReplicas int
	waitTimeout  time.Duration
}

var (
	_ session.Store      = (*Store)(nil)
	_ store.SubjectIndex = (*Store)(nil)
)

// New returns a Store that keeps sessions in Redis through client: a
// *redis.Client (one server, or a Sentinel master from
// redis.NewFailoverClient), a *redis.ClusterClient or a *redis.Ring. The
// store does not close the client.
//
// A nil client, or an option with a bad value (a negative number of
// replicas or timeout in WithWaitReplicas), is an error matching
// session.ErrInvalidConfig. Any prefix and suffix are accepted: Redis keys
// are binary-safe.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if isNil(client) {
		return nil, fmt.Errorf("redisstore: nil client: %w", session.ErrInvalidConfig)
	}
	s := &Store{client: client}
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		s.perKey = true
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	switch {
	case s.waitReplicas < 0:
		return nil, fmt.Errorf("redisstore: WithWaitReplicas: negative number of replicas %d: %w",
			s.waitReplicas, session.ErrInvalidConfig)
	case s.waitTimeout < 0:
		return nil, fmt.Errorf("redisstore: WithWaitReplicas: negative timeout %v: %w",
			s.waitTimeout, session.ErrInvalidConfig)
	}
	return s, nil
}

// isNil reports whether client is nil, or a nil pointer of one of
// go-redis's client types.
func isNil(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case nil:
		return true
	case *redis.Client:
		return c == nil
	case *redis.ClusterClient:
		return c == nil
	case *redis.Ring:
		return c == nil
	}
	return false
}

// Key returns the name of the Redis key that holds the record of the
// session cookie name and storage key: "[prefix:]name:key[:suffix]".
func (s *Store) Key(name, key string) string { return store.Key(s.prefix, s.suffix, name, key) }

// IndexKey returns the name of the sorted set that indexes the sessions of
// an encoded audience and subject: "[prefix:]name:audience:subject[:suffix]".
func (s *Store) IndexKey(name, audience, subject string) string {
	return store.Key(s.prefix, s.suffix, name, audience, subject)
}

// Get returns the record stored under name and key. A missing or expired
// record is an error matching session.ErrNotFound; Redis expires records on
// its own clock, so opts.Now is not used.
func (s *Store) Get(ctx context.Context, name, key string, _ store.GetOptions) ([]byte, error) {
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

// Set stores value under name and key for opts.TTL, following the
// session.Store contract:
//
//   - with opts.OldKey, it stores nothing and returns an error matching
//     session.ErrNotFound when the OldKey record is missing; otherwise the
//     new record joins the OldKey record's group, and the OldKey record
//     lives at most opts.StaleTTL longer (never longer than it would);
//   - with opts.Partner, it stores nothing and returns an error matching
//     session.ErrNotFound when the partner record is missing; otherwise the
//     new record joins the partner's group (rather than the OldKey
//     record's);
//   - with opts.Metadata, key joins the subject index of each audience and
//     subject (replacing opts.OldKey there), and entries that expired by
//     opts.Now are pruned;
//   - with opts.Replace, only the value of an existing record changes.
//
// On a single server or a Sentinel master all of it is one script call:
// atomic, one round trip. See the package documentation for a Redis
// Cluster.
func (s *Store) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if err := ctx.Err(); err != nil {
		return storeError("set", err)
	}
	if opts.Replace {
		return s.replace(ctx, name, key, value)
	}
	if opts.TTL <= 0 {
		return fmt.Errorf("redisstore: set: invalid ttl %v: %w", opts.TTL, session.ErrStore)
	}
	md := opts.Metadata
	if md != nil && len(md.Audiences) != len(md.Subjects) {
		return fmt.Errorf("redisstore: set: metadata has %d audiences and %d subjects: %w",
			len(md.Audiences), len(md.Subjects), session.ErrStore)
	}
	sv := s.newSave(name, key, value, opts)
	if s.perKey {
		return s.saveSlots(ctx, sv)
	}
	return s.saveAtomic(ctx, sv)
}

// A save is a Set with its keys and script arguments worked out.
type save struct {
	rec          record
	old, partner *record // nil when not given
	value        []byte
	key          string // the index member
	oldKey       string // the index member it replaces, or ""
	ttl, stale   int64  // milliseconds
	index        []string
	now, expires int64  // unix seconds, for the index
	seen         int64  // unix milliseconds, with group info (SetOptions.Seen), or 0
	facts        []byte // SetOptions.Facts
	limit        int    // SetOptions.Limit, on a single server
	refuse       bool   // SetOptions.LimitRefuse
	name         string
	pairs        []string // "audience:subject" of SetOptions.Metadata, with a limit
}

func (s *Store) newSave(name, key string, value []byte, opts store.SetOptions) *save {
	sv := &save{
		rec:   s.record(name, key),
		value: value,
		key:   key,
		ttl:   max(opts.TTL.Milliseconds(), 1),
		stale: max(opts.StaleTTL.Milliseconds(), 0),
		now:   unix(opts.Now),
	}
	sv.expires = sv.now + int64((opts.TTL+time.Second-1)/time.Second)
	if !opts.Seen.IsZero() {
		sv.seen, sv.facts = max(opts.Seen.UnixMilli(), 1), opts.Facts
	}
	if opts.OldKey != "" {
		old := s.record(name, opts.OldKey)
		sv.old = &old
		if opts.OldKey != key {
			sv.oldKey = opts.OldKey
		}
	}
	if !opts.Partner.IsZero() {
		partner := s.record(opts.Partner.Name, opts.Partner.Key)
		sv.partner = &partner
	}
	if md := opts.Metadata; md != nil && opts.Limit > 0 && !s.perKey {
		sv.limit, sv.refuse, sv.name = opts.Limit, opts.LimitRefuse, name
		for i := range md.Audiences {
			sv.pairs = append(sv.pairs, md.Audiences[i]+":"+md.Subjects[i])
		}
	}
	if md := opts.Metadata; md != nil {
		sv.index = make([]string, len(md.Audiences))
		for i := range md.Audiences {
			sv.index[i] = s.IndexKey(name, md.Audiences[i], md.Subjects[i])
		}
	}
	return sv
}

// saveAtomic is a save on a single server: one saveScript call (or, for a
// record of no group, a pipeline: see saveNew).
func (s *Store) saveAtomic(ctx context.Context, sv *save) error {
	if s.plainSave(sv) {
		return s.saveNew(ctx, sv)
	}
	keys := make([]string, 0, 6+len(sv.index))
	keys = append(keys, sv.rec.key, sv.rec.link)
	flags := ""
	if sv.old != nil {
		flags += "o"
		keys = append(keys, sv.old.key, sv.old.link)
	}
	if sv.partner != nil {
		flags += "p"
		keys = append(keys, sv.partner.key, sv.partner.link)
	}
	if sv.seen != 0 {
		flags += "s"
	}
	keys = append(keys, sv.index...)
	if s.legacy {
		flags += "L"
	}
	args := make([]any, 0, 19+len(sv.pairs))
	args = append(args, flags, sv.value, sv.ttl, sv.stale, groupNonce(), time.Now().UnixMilli())
	if len(sv.index) > 0 || sv.seen != 0 || sv.limit > 0 {
		args = append(args, sv.key, sv.oldKey, sv.now, sv.expires)
	}
	if sv.seen != 0 || sv.limit > 0 {
		seen, hasFacts, refuse := "", "0", "0"
		if sv.seen != 0 {
			seen = strconv.FormatInt(sv.seen, 10)
		}
		if sv.facts != nil {
			hasFacts = "1"
		}
		if sv.refuse {
			refuse = "1"
		}
		pre, suf := s.affixes()
		args = append(args, seen, hasFacts, sv.facts, sv.limit, refuse, pre, suf, sv.name)
		args = append(args, anys(sv.pairs)...)
	}
	c := &call{script: saveScript, keys: keys, args: args}
	if err := s.exec(ctx, "set", c); err != nil {
		return err
	}
	switch r, _ := c.cmd.Text(); r {
	case "old":
		return errNoOld
	case "partner":
		return errNoPartner
	case "limit":
		return errLimit
	}
	return nil
}

var (
	errNoOld     = fmt.Errorf("redisstore: set: no record under the old key: %w", session.ErrNotFound)
	errNoPartner = fmt.Errorf("redisstore: set: no partner record: %w", session.ErrNotFound)
	errNoRecord  = fmt.Errorf("redisstore: set: no record to replace: %w", session.ErrNotFound)
	errLimit     = fmt.Errorf("redisstore: set: %w", store.ErrSessionLimit)
)

// replace sets the value of an existing record, keeping its expiry, its
// group and its index entries.
func (s *Store) replace(ctx context.Context, name, key string, value []byte) error {
	c := &call{script: replaceScript, keys: []string{s.Key(name, key)}, args: []any{value}}
	if err := s.exec(ctx, "set", c); err != nil {
		return err
	}
	if n, _ := c.cmd.Int64(); n == 0 {
		return errNoRecord
	}
	return nil
}

// Delete removes the record under name and key with every other record of
// its group (the records it replaced, those that replaced it, its partners
// under the other cookie name), and the keys of all of them from the
// subject index of each audience and subject of opts.Metadata, each under
// its own cookie name (pruning entries that expired by opts.Now), as the
// reference's deletes of the session and remember records would. On a
// single server or a Sentinel master it is one script call. Deleting a
// missing record is not an error.
func (s *Store) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	if err := ctx.Err(); err != nil {
		return storeError("delete", err)
	}
	rec := s.record(name, key)
	var pairs []string // "audience:subject"
	if md := opts.Metadata; md != nil {
		pairs = make([]string, min(len(md.Audiences), len(md.Subjects)))
		for i := range pairs {
			pairs[i] = md.Audiences[i] + ":" + md.Subjects[i]
		}
	}
	index := s.indexKeys(name, pairs)
	now := unix(opts.Now)
	if s.perKey {
		return s.deleteSlots(ctx, rec, key, index, pairs, now)
	}
	keys := append([]string{rec.key, rec.link}, index...)
	pre, suf := s.affixes()
	args := append([]any{"delete", key, now, pre, suf}, anys(pairs)...)
	return s.exec(ctx, "delete", newCall(keys, args...))
}

// indexKeys returns the names of the subject indexes of name for pairs of
// "audience:subject".
func (s *Store) indexKeys(name string, pairs []string) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = store.Key(s.prefix, s.suffix, name, p)
	}
	return out
}

// affixes returns the prefix and the suffix as record keys hold them: "p:"
// and ":s", or "" when empty.
func (s *Store) affixes() (pre, suf string) {
	if s.prefix != "" {
		pre = s.prefix + ":"
	}
	if s.suffix != "" {
		suf = ":" + s.suffix
	}
	return pre, suf
}

// recordParts returns the cookie name and storage key of a record key of
// the store (Key): neither holds a ':'.
func (s *Store) recordParts(k string) (name, key string, ok bool) {
	pre, suf := s.affixes()
	mid, ok1 := strings.CutPrefix(k, pre)
	mid, ok2 := strings.CutSuffix(mid, suf)
	name, key, ok3 := strings.Cut(mid, ":")
	return name, key, ok1 && ok2 && ok3 && name != "" && key != "" && !strings.Contains(key, ":")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Sessions lists the live sessions of an encoded audience and subject under
// the cookie name, soonest to expire first, and prunes the entries that
// expired by now. It implements store.SubjectIndex.
//
// Entries whose record is gone without a Delete that named them (a record
// expired early, or deleted by the reference, which removes only the
// record it is given and no other of its group) are left out of the
// listing, and pruned when they expire. It takes two round trips: the
// index, then the records.
func (s *Store) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
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
	entries := zs.Val()
	if len(entries) == 0 {
		return []store.IndexEntry{}, nil
	}
	exists := make([]*redis.IntCmd, len(entries))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range entries {
			member, _ := z.Member.(string)
			exists[i] = p.Exists(ctx, s.Key(name, member))
		}
		return nil
	})
	if err != nil {
		return nil, storeError("sessions", err)
	}
	out := make([]store.IndexEntry, 0, len(entries))
	for i, z := range entries {
		if exists[i].Val() == 0 {
			continue
		}
		member, _ := z.Member.(string)
		out = append(out, store.IndexEntry{Key: member, Expires: time.Unix(int64(z.Score), 0)})
	}
	return out, nil
}

func (s *Store) waits() bool { return s.waitReplicas > 0 && !s.perKey }

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
