package memcachedstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// maxRelative is the longest expiration memcached reads as relative
// seconds; longer ones must be unix times.
const maxRelative = 30 * 24 * 60 * 60

// Store is a session.Store and store.SubjectIndex on memcached. It is
// safe for concurrent use; make one with New.
type Store struct {
	client *memcache.Client
	prefix string
	suffix string
}

var (
	_ session.Store      = (*Store)(nil)
	_ store.SubjectIndex = (*Store)(nil)
)

// New returns a Store that keeps sessions in memcached through client. The
// store does not close the client. memcached's default item size limit is
// 1 MiB; start it with a larger -I for larger sessions (the session library
// allows up to 16 MiB).
//
// A nil client, or a prefix or suffix that would make keys memcached
// refuses (a space or a control character in it, or so long that the keys
// of a record under a one-character cookie name would pass memcached's 250
// bytes), is an error matching session.ErrInvalidConfig.
func New(client *memcache.Client, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("memcachedstore: nil client: %w", session.ErrInvalidConfig)
	}
	s := &Store{client: client}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if err := s.checkAffixes(); err != nil {
		return nil, err
	}
	return s, nil
}

// Get returns the record stored under name and key. A missing or expired
// record is an error matching session.ErrNotFound; memcached expires records
// on its own clock, so opts.Now is not used.
func (s *Store) Get(ctx context.Context, name, key string, _ store.GetOptions) ([]byte, error) {
	var value []byte
	err := run(ctx, "get", func() error {
		it, err := s.client.Get(s.Key(name, key))
		if errors.Is(err, memcache.ErrCacheMiss) {
			return notFound("get", "record", err)
		}
		if err != nil {
			return err
		}
		value = it.Value
		return nil
	})
	if err != nil {
		return nil, err // value may still be written by an abandoned call
	}
	return value, nil
}

// write is a Set, checked: the keys it reads and writes, and its times in
// unix seconds.
type write struct {
	recordRef
	now, expires int64
	ttl          int64
	old          *recordRef // opts.OldKey, under the same cookie name
	partner      *recordRef // opts.Partner
	staleExp     int64      // now + opts.StaleTTL: the latest the old record may live
	stale        int64      // opts.StaleTTL in seconds, rounded up
	index        []string   // the subject index lists of opts.Metadata
	seen         time.Time  // opts.Seen: write the record's info (groupinfo.go)
	facts        []byte     // opts.Facts
}

// newWrite checks the arguments of a Set and every key it may write.
func (s *Store) newWrite(name, key string, opts store.SetOptions) (*write, error) {
	if opts.TTL <= 0 {
		return nil, fmt.Errorf("invalid ttl %v: %w", opts.TTL, session.ErrStore)
	}
	r, err := s.ref("record", name, key)
	if err != nil {
		return nil, err
	}
	w := &write{recordRef: r, now: unix(opts.Now), ttl: seconds(opts.TTL)}
	w.expires = w.now + w.ttl
	w.stale = seconds(max(opts.StaleTTL, 0))
	w.staleExp = w.now + w.stale
	w.seen, w.facts = opts.Seen, opts.Facts
	if opts.OldKey != "" {
		old, err := s.ref("old record", name, opts.OldKey)
		if err != nil {
			return nil, err
		}
		w.old = &old
	}
	if !opts.Partner.IsZero() {
		p, err := s.ref("partner record", opts.Partner.Name, opts.Partner.Key)
		if err != nil {
			return nil, err
		}
		w.partner = &p
	}
	if w.index, err = s.indexKeys(name, opts.Metadata); err != nil {
		return nil, err
	}
	return w, nil
}

// Set stores value under name and key for opts.TTL, as the reference
// stores it (flags 0), with the record's expiry in the flags of its group
// pointer.
//
// With opts.OldKey or opts.Partner, the record joins the group of that
// record (Partner first), which must exist: otherwise Set writes nothing
// and returns an error matching session.ErrNotFound, as it does when the
// group ends while the record joins it. The old record's expiry is then
// shortened to opts.StaleTTL (never lengthened; a record without a known
// expiry, as the reference writes them, is touched to opts.StaleTTL as the
// reference does). With opts.Metadata, key is added to the subject index
// list of each audience and subject, with a tombstone for opts.OldKey, and
// the list compacted.
//
// With opts.Replace, Set only replaces the value of an existing record (with
// compare-and-swap), keeping its expiry, group and index entries.
func (s *Store) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if opts.Replace {
		return s.replace(ctx, name, key, value, opts)
	}
	w, err := s.newWrite(name, key, opts)
	if err != nil {
		return fmt.Errorf("memcachedstore: set: %w", err)
	}
	return run(ctx, "set", func() error { return s.set(w, value) })
}

func (s *Store) set(w *write, value []byte) error {
	var (
		a      *anchor
		oldExp int64          // the old record's expiry, from its pointer; 0: unknown
		own    *memcache.Item // the record's own pointer, when it replaces itself
	)
	if w.old != nil || w.partner != nil {
		var err error
		if a, oldExp, own, err = s.resolve(w); err != nil {
			return err
		}
	}
	err := s.client.Set(&memcache.Item{Key: w.rec, Value: value, Expiration: expiration(w.ttl)})
	if err != nil {
		return err
	}
	if a == nil {
		// No group to join: the pointer only records the expiry (and
		// keeps the group of a record that replaces itself).
		if err := s.ownPointer(w, own); err != nil {
			s.takeBack(w)
			return err
		}
	}
	if err := s.index(w); err != nil {
		s.takeBack(w)
		return err
	}
	if a != nil {
		if err := s.join(w, a); err != nil {
			// Take the record back: it must not outlive its group, and
			// the caller, told that the save failed, never learns its key.
			s.takeBack(w)
			if errors.Is(err, errGroupEnded) {
				return notFound("set", "group of the "+a.role(), err)
			}
			return err
		}
	}
	if !w.seen.IsZero() {
		if err := s.noteInfo(w, a); err != nil {
			return err
		}
	}
	if w.old != nil && w.old.key != w.key {
		return s.shorten(w.old.rec, oldExp, w)
	}
	return nil
}

// takeBack removes what a failed save wrote: its record, its group pointer
// and its subject index entries (best effort: the save reports its own
// error).
func (s *Store) takeBack(w *write) {
	s.deleteItem(w.rec)
	s.deleteItem(w.ptr)
	s.deleteItem(s.infoKey(w.name, w.key))
	tomb := appendTombstone(nil, w.key)
	for _, ik := range w.index {
		if s.client.Append(&memcache.Item{Key: ik, Value: tomb}) == nil {
			s.compact(ik, w.now, false)
		}
	}
}

// ownPointer writes the group pointer of a record that joins no group: an
// empty group and the record's expiry. A record that replaces itself
// (prev, its pointer as read before the write) keeps its group, with
// compare-and-swap so that a group given to it meanwhile is kept too.
func (s *Store) ownPointer(w *write, prev *memcache.Item) error {
	for range casAttempts {
		if prev == nil {
			return s.setPointer(w, "")
		}
		err := s.client.CompareAndSwap(&memcache.Item{
			Key: w.ptr, Value: prev.Value, Flags: uint32(w.expires), Expiration: expiration(w.ttl), CasID: prev.CasID,
		})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored):
			prev = nil
		case errors.Is(err, memcache.ErrCASConflict):
			if prev, err = s.client.Get(w.ptr); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
				return err
			}
		default:
			return err
		}
	}
	return fmt.Errorf("group pointer %q keeps changing", w.ptr)
}

// resolve reads the old and partner records of w and their group pointers,
// in one round trip per server, and returns the anchor the new record joins
// (the partner, else the old record; nil when the old record is the record
// itself, whose pointer it then returns), and the old record's expiry (0
// when unknown: a record without a pointer, as the reference writes them).
// A missing old or partner record is an error matching session.ErrNotFound.
func (s *Store) resolve(w *write) (*anchor, int64, *memcache.Item, error) {
	var keys []string
	for _, r := range []*recordRef{w.old, w.partner} {
		if r != nil {
			keys = append(keys, r.rec, r.ptr)
		}
	}
	items, err := s.client.GetMulti(keys)
	if err != nil {
		return nil, 0, nil, err
	}
	var oldExp int64
	if w.old != nil {
		if items[w.old.rec] == nil {
			return nil, 0, nil, notFound("set", "old record", memcache.ErrCacheMiss)
		}
		if p := items[w.old.ptr]; p != nil {
			oldExp = int64(p.Flags)
		}
	}
	if w.partner != nil && items[w.partner.rec] == nil {
		return nil, 0, nil, notFound("set", "partner record", memcache.ErrCacheMiss)
	}
	var a *anchor
	switch {
	case w.partner != nil:
		a = &anchor{recordRef: *w.partner}
	case w.old.key != w.key:
		a = &anchor{recordRef: *w.old, old: true}
	default:
		return nil, oldExp, items[w.old.ptr], nil // a record that replaces itself keeps its group
	}
	if it := items[a.ptr]; it != nil {
		a.pointer, a.exp, a.group = it, int64(it.Flags), string(it.Value)
		if a.group != "" && !validPart(a.group) {
			return nil, 0, nil, fmt.Errorf("corrupt group pointer %q: %q", a.ptr, it.Value)
		}
	}
	return a, oldExp, nil, nil
}

// shorten makes the old record k, which expires at exp (0: unknown), expire
// within the stale TTL of w unless it expires sooner; a stale TTL of zero
// deletes it. Its group pointer is left to expire with its first expiry,
// so a Delete of its key still ends the group.
func (s *Store) shorten(k string, exp int64, w *write) error {
	if w.stale == 0 {
		return s.deleteItem(k)
	}
	if exp != 0 && exp <= w.staleExp {
		return nil // expires sooner than the stale TTL
	}
	if err := s.client.Touch(k, expiration(w.stale)); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return err
	}
	return nil
}

// index adds the key of w, and a tombstone of the key it replaces, to the
// subject index lists of w: a list that exists is appended to, then
// compacted; a new one is created with add, without an expiry, as the
// reference creates it.
func (s *Store) index(w *write) error {
	if len(w.index) == 0 {
		return nil
	}
	entry := appendEntry(make([]byte, 0, 96), w.key, w.expires)
	if w.old != nil && w.old.key != w.key {
		entry = appendTombstone(entry, w.old.key)
	}
	for _, ik := range w.index {
		appended, err := s.addToList(ik, entry)
		if err != nil {
			return err
		}
		if !appended {
			continue // a new list, holding only entry
		}
		// Rewritten even with nothing to drop: the reference's cleanup
		// may have given the list an expiry, which append keeps and
		// which the new entry may outlive.
		if _, err := s.compact(ik, w.now, true); err != nil {
			return err
		}
	}
	return nil
}

// replace is Set with opts.Replace: it replaces the value of the existing
// record under name and key with compare-and-swap, so that a record deleted
// meanwhile stays deleted, and keeps its expiry (from its group pointer; a
// record without one, written by the reference, gets opts.TTL).
func (s *Store) replace(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	r, err := s.ref("record", name, key)
	if err != nil {
		return fmt.Errorf("memcachedstore: set: %w", err)
	}
	now := unix(opts.Now)
	return run(ctx, "set", func() error {
		for range casAttempts {
			items, err := s.client.GetMulti([]string{r.rec, r.ptr})
			if err != nil {
				return err
			}
			it := items[r.rec]
			if it == nil {
				return notFound("set", "record to replace", memcache.ErrCacheMiss)
			}
			var exp int64
			if p := items[r.ptr]; p != nil {
				exp = int64(p.Flags)
			}
			if exp == 0 {
				if opts.TTL <= 0 {
					return fmt.Errorf("record %q has no known expiry (another client wrote it) and the replace gives no ttl", r.rec)
				}
				exp = now + seconds(opts.TTL)
			}
			it.Value, it.Expiration = value, expireAt(exp, now)
			err = s.client.CompareAndSwap(it)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, memcache.ErrCASConflict):
				continue
			case errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored):
				return notFound("set", "record to replace", err)
			default:
				return err
			}
		}
		return fmt.Errorf("record %q keeps changing", r.rec)
	})
}

// Delete removes the record under name and key and, when it belongs to a
// group, ends the group and deletes every record of it with their group
// pointers. With opts.Metadata it appends tombstones of the deleted keys to
// the subject index list of each audience and subject, under each deleted
// record's cookie name, and compacts the lists. Deleting a missing record is
// not an error; a missing record whose group pointer is still there (a
// stale record) still ends its group.
func (s *Store) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	r, err := s.ref("record", name, key)
	if err != nil {
		return fmt.Errorf("memcachedstore: delete: %w", err)
	}
	if _, err := s.indexKeys(name, opts.Metadata); err != nil {
		return fmt.Errorf("memcachedstore: delete: %w", err)
	}
	now := unix(opts.Now)
	return run(ctx, "delete", func() error {
		// The record first, then its pointer: a save that gives the
		// record a group at the same time checks the record after writing
		// the pointer (adopt), so one of the two sees the other.
		if err := s.deleteItem(r.rec); err != nil {
			return err
		}
		self := member(name, key)
		members := []string{self}
		it, err := s.client.Get(r.ptr)
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
		case err != nil:
			return err
		case len(it.Value) == 0:
			// A group of its own: the pointer only held its expiry.
			if err := s.deleteItem(r.ptr); err != nil {
				return err
			}
		case !validPart(string(it.Value)):
			return fmt.Errorf("corrupt group pointer %q: %q", r.ptr, it.Value)
		default:
			ended, err := s.endGroup(string(it.Value), self)
			if err != nil {
				return err
			}
			if !slices.Contains(ended, self) {
				// A list that expired or ended without it.
				if err := s.deleteItem(r.ptr); err != nil {
					return err
				}
			}
			for _, m := range ended {
				if m != self {
					members = append(members, m)
				}
			}
		}
		if err := s.deleteMembers(members, s.infoKey); err != nil {
			return err
		}
		return s.unindex(members, opts.Metadata, now)
	})
}

// unindex appends tombstones of the deleted members ("name/key") to the
// subject index lists of md under their cookie names, and compacts them.
func (s *Store) unindex(members []string, md *store.Metadata, now int64) error {
	if md == nil {
		return nil
	}
	byName := map[string][]byte{}
	for _, m := range members {
		if name, key, ok := splitMember(m); ok {
			byName[name] = appendTombstone(byName[name], key)
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		keys, err := s.indexKeys(name, md)
		if err != nil {
			return err
		}
		for _, ik := range keys {
			err := s.client.Append(&memcache.Item{Key: ik, Value: byName[name]})
			if errors.Is(err, memcache.ErrNotStored) {
				continue // no list: nothing to remove
			}
			if err != nil {
				return err
			}
			if _, err := s.compact(ik, now, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// Sessions lists the live sessions of an encoded audience and subject under
// the cookie name, soonest to expire first, compacting the list as it goes.
// It implements store.SubjectIndex.
func (s *Store) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
	var out []store.IndexEntry
	err := run(ctx, "sessions", func() error {
		live, err := s.compact(s.IndexKey(name, audience, subject), unix(now), false)
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
// Timeout). Errors match session.ErrStore, except those that already match
// session.ErrNotFound.
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
	if err == nil || errors.Is(err, session.ErrNotFound) {
		return err
	}
	return storeError(op, err)
}

// notFound returns the error of an operation that found no record: it
// matches session.ErrNotFound and the cause.
func notFound(op, what string, cause error) error {
	return fmt.Errorf("memcachedstore: %s: no %s: %w (%w)", op, what, session.ErrNotFound, cause)
}

// expiration returns memcached's expiration for a TTL of ttl seconds: the
// TTL itself up to 30 days, the server's unix time after that.
func expiration(ttl int64) int32 {
	if ttl > maxRelative {
		return int32(time.Now().Unix() + ttl)
	}
	return int32(ttl)
}

// expireAt returns memcached's expiration for an item that expires at exp,
// now being now: at least a second from now.
func expireAt(exp, now int64) int32 { return expiration(max(exp-now, 1)) }

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
