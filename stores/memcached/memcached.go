package memcachedstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
)

// maxRelative is the longest expiration memcached reads as relative
// seconds; longer ones must be unix times.
const maxRelative = 30 * 24 * 60 * 60

// compactAttempts bounds the gets/cas rounds of one list compaction.
const compactAttempts = 5

// Store is a session.Store and session.SubjectIndex on memcached. It is
// safe for concurrent use; make one with New.
type Store struct {
	client *memcache.Client
	prefix string
	suffix string
}

var (
	_ session.Store        = (*Store)(nil)
	_ session.SubjectIndex = (*Store)(nil)
)

// New returns a Store that keeps sessions in memcached through client. The
// store does not close the client. memcached's default item size limit is
// 1 MiB; start it with a larger -I for larger sessions (the session library
// allows up to 16 MiB).
func New(client *memcache.Client, opts ...Option) *Store {
	s := &Store{client: client}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Key returns the memcached key that holds the record of the session cookie
// name and storage key: "[prefix:]name:key[:suffix]".
func (s *Store) Key(name, key string) string { return session.StoreKey(s.prefix, s.suffix, name, key) }

// IndexKey returns the memcached key of the subject index list of an encoded
// audience and subject: "[prefix:]name:audience:subject[:suffix]".
func (s *Store) IndexKey(name, audience, subject string) string {
	return session.StoreKey(s.prefix, s.suffix, name, audience, subject)
}

// Get returns the record stored under name and key. A missing or expired
// record is an error matching session.ErrNotFound; memcached expires records
// on its own clock, so opts.Now is not used.
func (s *Store) Get(ctx context.Context, name, key string, _ session.GetOptions) ([]byte, error) {
	var value []byte
	err := run(ctx, "get", func() error {
		it, err := s.client.Get(s.Key(name, key))
		if err != nil {
			return err
		}
		value = it.Value
		return nil
	})
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, fmt.Errorf("memcachedstore: get: %w (%w)", session.ErrNotFound, err)
	}
	if err != nil {
		return nil, err // value may still be written by an abandoned call
	}
	return value, nil
}

// Set stores value under name and key for opts.TTL, shortens the expiry of
// the opts.OldKey record to opts.StaleTTL (never lengthening it), and adds
// key to the subject index list of each audience and subject of
// opts.Metadata, with a tombstone for opts.OldKey, then compacts the list.
func (s *Store) Set(ctx context.Context, name, key string, value []byte, opts session.SetOptions) error {
	if opts.TTL <= 0 {
		return fmt.Errorf("memcachedstore: set: invalid ttl %v: %w", opts.TTL, session.ErrStore)
	}
	md := opts.Metadata
	if md != nil {
		if len(md.Audiences) != len(md.Subjects) {
			return fmt.Errorf("memcachedstore: set: metadata has %d audiences and %d subjects: %w",
				len(md.Audiences), len(md.Subjects), session.ErrStore)
		}
		if len(md.Audiences) > 0 && (!validIndexKey(key) || (opts.OldKey != "" && !validIndexKey(opts.OldKey))) {
			return fmt.Errorf("memcachedstore: set: key %q cannot be indexed (it contains ':' or ';'): %w", key, session.ErrStore)
		}
	}
	oldKey := opts.OldKey
	if oldKey == key {
		oldKey = ""
	}
	now := unix(opts.Now)
	ttl := seconds(opts.TTL)
	expires := now + ttl
	return run(ctx, "set", func() error {
		err := s.client.Set(&memcache.Item{
			Key: s.Key(name, key), Value: value, Flags: uint32(expires), Expiration: expiration(ttl),
		})
		if err != nil {
			return err
		}
		if oldKey != "" {
			if err := s.shorten(ctx, s.Key(name, oldKey), now, opts.StaleTTL); err != nil {
				return err
			}
		}
		if md == nil {
			return nil
		}
		entry := appendEntry(make([]byte, 0, 96), key, expires)
		if oldKey != "" {
			entry = appendTombstone(entry, oldKey)
		}
		for i := range md.Audiences {
			if err := ctx.Err(); err != nil {
				return err
			}
			ik := s.IndexKey(name, md.Audiences[i], md.Subjects[i])
			if err := s.addToList(ik, entry, expires, ttl); err != nil {
				return err
			}
			if _, err := s.compact(ik, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// shorten makes the record under k expire within stale, unless it expires
// sooner (read from the flags) or is gone.
func (s *Store) shorten(ctx context.Context, k string, now int64, stale time.Duration) error {
	if stale <= 0 {
		if err := s.client.Delete(k); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return err
		}
		return nil
	}
	it, err := s.client.Get(k)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil
	}
	if err != nil {
		return err
	}
	st := seconds(stale)
	if it.Flags != 0 && int64(it.Flags) <= now+st {
		return nil // expires sooner than the stale ttl
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.client.Touch(k, expiration(st)); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return err
	}
	return nil
}

// addToList appends entry to the list ik, or creates the list with it.
// Appending first saves a round trip in the usual case, a session whose
// list exists.
func (s *Store) addToList(ik string, entry []byte, expires, ttl int64) error {
	for range 3 {
		err := s.client.Append(&memcache.Item{Key: ik, Value: entry})
		if !errors.Is(err, memcache.ErrNotStored) {
			return err
		}
		// No list: create it, unless someone else just did.
		err = s.client.Add(&memcache.Item{Key: ik, Value: entry, Flags: uint32(expires), Expiration: expiration(ttl)})
		if !errors.Is(err, memcache.ErrNotStored) {
			return err
		}
	}
	return fmt.Errorf("memcachedstore: subject index %q keeps appearing and vanishing", ik)
}

// compact reads the list ik, drops its expired and replaced entries and
// writes it back with compare-and-swap, with the expiry of its longest-lived
// entry. It returns the live entries. A list changed by someone else between
// the read and the write is read again; after compactAttempts tries the list
// is left as it is (still correct, only longer).
func (s *Store) compact(ik string, now int64) (map[string]int64, error) {
	var live map[string]int64
	for attempt := 0; attempt < compactAttempts; attempt++ {
		it, err := s.client.Get(ik)
		if errors.Is(err, memcache.ErrCacheMiss) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var garbage bool
		live, garbage, err = parseList(it.Value, now)
		if err != nil {
			return nil, err
		}
		list, maxExp := encodeList(live)
		if !garbage && int64(it.Flags) >= maxExp {
			return live, nil // nothing to drop, and the list outlives its entries
		}
		it.Value, it.Flags = list, uint32(maxExp)
		it.Expiration = expiration(max(maxExp-now, 1))
		err = s.client.CompareAndSwap(it)
		if err == nil || errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrNotStored) {
			return live, nil
		}
		if !errors.Is(err, memcache.ErrCASConflict) {
			return nil, err
		}
	}
	return live, nil
}

// Delete removes the record under name and key and appends a tombstone of
// key to the subject index list of each audience and subject of
// opts.Metadata, then compacts the list. Deleting a missing record is not an
// error.
func (s *Store) Delete(ctx context.Context, name, key string, opts session.DeleteOptions) error {
	md := opts.Metadata
	now := unix(opts.Now)
	return run(ctx, "delete", func() error {
		if err := s.client.Delete(s.Key(name, key)); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return err
		}
		if md == nil || !validIndexKey(key) {
			return nil
		}
		tomb := appendTombstone(nil, key)
		for i := range min(len(md.Audiences), len(md.Subjects)) {
			if err := ctx.Err(); err != nil {
				return err
			}
			ik := s.IndexKey(name, md.Audiences[i], md.Subjects[i])
			err := s.client.Append(&memcache.Item{Key: ik, Value: tomb})
			if errors.Is(err, memcache.ErrNotStored) {
				continue // no list: nothing to remove
			}
			if err != nil {
				return err
			}
			if _, err := s.compact(ik, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// Sessions lists the live sessions of an encoded audience and subject under
// the cookie name, soonest to expire first, compacting the list as it goes.
// It implements session.SubjectIndex.
func (s *Store) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]session.IndexEntry, error) {
	var out []session.IndexEntry
	err := run(ctx, "sessions", func() error {
		live, err := s.compact(s.IndexKey(name, audience, subject), unix(now))
		if err != nil {
			return err
		}
		out = sortedEntries(live)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// run calls fn, returning early with the context's error when ctx ends
// first (fn then finishes in the background, bounded by the client's
// Timeout). Errors match session.ErrStore, except a cache miss, returned as
// is for Get.
func run(ctx context.Context, op string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return storeError(op, err)
	}
	var err error
	if ctx.Done() == nil {
		err = fn()
	} else {
		done := make(chan error, 1)
		go func() { done <- fn() }()
		select {
		case err = <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err == nil || (op == "get" && errors.Is(err, memcache.ErrCacheMiss)) {
		return err
	}
	return storeError(op, err)
}

// expiration returns memcached's expiration for a TTL of ttl seconds: the
// TTL itself up to 30 days, the server's unix time after that.
func expiration(ttl int64) int32 {
	if ttl > maxRelative {
		return int32(time.Now().Unix() + ttl)
	}
	return int32(ttl)
}

// seconds rounds d up to whole seconds.
func seconds(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

// unix returns t in unix seconds, or the current time when t is zero.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return time.Now().Unix()
	}
	return t.Unix()
}

func storeError(op string, err error) error {
	return fmt.Errorf("memcachedstore: %s: %w: %w", op, session.ErrStore, err)
}
