package memcachedstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

var _ store.Revoker = (*Store)(nil)

// Revocation marks. A mark is an item of its own,
// "[prefix:]revoked:<mark key>[:suffix]" (the mark key is core's "sid:…",
// "sub:…" or "key:…"), holding the unix seconds of the mark's At in
// decimal, with its expiry in unix seconds in the item's flags, as records
// have theirs.
//
// No record, index list or bookkeeping key takes such a name: a record key
// has two parts after the prefix (name, storage key), bookkeeping keys
// carry '@', and an index list of a cookie named "revoked" would need
// "sid", "sub" or "key" as its base64url audience, which no encoder writes
// (their last character leaves bits over).
const revokedPart = "revoked"

// RevokedKey returns the memcached key that holds the revocation mark of
// key: "[prefix:]revoked:key[:suffix]".
func (s *Store) RevokedKey(key string) string {
	return store.Key(s.prefix, s.suffix, revokedPart, key)
}

// markNames returns the memcached keys of the marks of keys, checked.
func (s *Store) markNames(keys []string) ([]string, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = s.RevokedKey(k)
		if k == "" || !legalKey(names[i]) {
			return nil, fmt.Errorf("invalid mark key %q (empty, spaces or control characters, or too long for memcached with the prefix and suffix): %w", k, session.ErrStore)
		}
	}
	return names, nil
}

// A pendingMark is a mark Revoke still has to write: the item's key, At
// and expiry in unix seconds.
type pendingMark struct {
	name    string
	at, exp int64
}

// Revoke writes marks, implementing store.Revoker. When a key already has
// a live mark, the item keeps the later of the two At values and the later
// of the two expiries. A mark expires at now plus its TTL (whole seconds,
// at least one), by the clock of the session library; the item lives one
// second longer on memcached's clock, which counts whole seconds, so that
// memcached never drops it before then.
//
// Each item changes atomically: added when missing, else replaced with
// compare-and-swap, and read again when another writer was faster (a
// bounded number of times, then the call fails). The marks of one call are
// read together (GetMulti: one round trip per server), then written one by
// one.
func (s *Store) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	if len(marks) == 0 {
		return run(ctx, "revoke", func() error { return nil })
	}
	keys := make([]string, len(marks))
	for i, m := range marks {
		keys[i] = m.Key
	}
	names, err := s.markNames(keys)
	if err != nil {
		return fmt.Errorf("memcachedstore: revoke: %w", err)
	}
	n := unix(now)
	pending := make([]*pendingMark, 0, len(marks))
	byName := make(map[string]*pendingMark, len(marks))
	for i, m := range marks {
		at, exp := m.At.Unix(), n+max(seconds(m.TTL), 1)
		if p := byName[names[i]]; p != nil { // the same key twice: one mark
			p.at, p.exp = max(p.at, at), max(p.exp, exp)
			continue
		}
		p := &pendingMark{name: names[i], at: at, exp: exp}
		byName[p.name] = p
		pending = append(pending, p)
	}
	return run(ctx, "revoke", func() error { return s.revoke(pending, n) })
}

func (s *Store) revoke(pending []*pendingMark, now int64) error {
	for range casAttempts {
		names := make([]string, len(pending))
		for i, p := range pending {
			names[i] = p.name
		}
		items, err := s.client.GetMulti(names)
		if err != nil {
			return err
		}
		var again []*pendingMark
		for _, p := range pending {
			done, err := s.writeMark(p, items[p.name], now)
			if err != nil {
				return err
			}
			if !done {
				again = append(again, p)
			}
		}
		if len(again) == 0 {
			return nil
		}
		pending = again
	}
	return fmt.Errorf("mark %q keeps changing", pending[0].name)
}

// writeMark writes the mark p over it, the item read under its key (nil:
// none), and reports whether it did (false: another writer changed the
// item meanwhile, read it again).
func (s *Store) writeMark(p *pendingMark, it *memcache.Item, now int64) (bool, error) {
	if it == nil {
		err := s.client.Add(&memcache.Item{Key: p.name, Value: strconv.AppendInt(nil, p.at, 10),
			Flags: uint32(p.exp), Expiration: markExpiration(p.exp, now)})
		if errors.Is(err, memcache.ErrNotStored) {
			return false, nil // added by another writer meanwhile
		}
		return err == nil, err
	}
	at, exp := p.at, p.exp
	if cur, live := liveMark(it, now); live {
		curExp := int64(it.Flags)
		if cur >= at && curExp >= exp {
			return true, nil // says as much already
		}
		at, exp = max(at, cur), max(exp, curExp)
	}
	it.Value, it.Flags, it.Expiration = strconv.AppendInt(nil, at, 10), uint32(exp), markExpiration(exp, now)
	err := s.client.CompareAndSwap(it)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored):
		return false, nil // changed, expired or deleted meanwhile
	}
	return false, err
}

// liveMark returns the At of the mark in it (unix seconds) and whether it
// is a live mark at now: a number, with an expiry after now in its flags (or
// none there: another writer's item, live as long as memcached keeps it).
func liveMark(it *memcache.Item, now int64) (int64, bool) {
	at, err := strconv.ParseInt(string(it.Value), 10, 64)
	if err != nil {
		return 0, false
	}
	if exp := int64(it.Flags); exp != 0 && exp <= now {
		return 0, false
	}
	return at, true
}

// markExpiration is memcached's expiration of a mark that expires at exp,
// now being now: one second more than its TTL, for memcached's clock ticks
// in whole seconds and may drop an item of n seconds after n-1.
func markExpiration(exp, now int64) int32 { return expiration(max(exp-now, 1) + 1) }

// Revoked returns the At of the live mark of each key, in the order of
// keys, or the zero Time for a key without one, implementing
// store.Revoker. A mark is live until the expiry in its flags, compared
// with now (the current time when zero), and while memcached keeps it.
//
// It is one GetMulti: one round trip per server holding a key, the servers
// in parallel (one round trip with one server). An item under a mark's key
// that does not hold unix seconds is an error: the answer is unknown.
func (s *Store) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	names, err := s.markNames(keys)
	if err != nil {
		return nil, fmt.Errorf("memcachedstore: revoked: %w", err)
	}
	if len(keys) == 0 {
		if err := run(ctx, "revoked", func() error { return nil }); err != nil {
			return nil, err
		}
		return []time.Time{}, nil
	}
	n := unix(now)
	var out []time.Time
	err = run(ctx, "revoked", func() error {
		items, err := s.client.GetMulti(names)
		if err != nil {
			return err
		}
		answers := make([]time.Time, len(names))
		for i, name := range names {
			it := items[name]
			if it == nil {
				continue
			}
			at, live := liveMark(it, n)
			if !live {
				if _, err := strconv.ParseInt(string(it.Value), 10, 64); err != nil {
					return fmt.Errorf("mark %q holds %q, not unix seconds", name, it.Value)
				}
				continue
			}
			answers[i] = time.Unix(at, 0)
		}
		out = answers
		return nil
	})
	if err != nil {
		return nil, err // out may still be written by an abandoned call
	}
	return out, nil
}
