package memcachedstore

import (
	"errors"
	"fmt"
	"slices"

	"github.com/bradfitz/gomemcache/memcache"
)

// Groups. The records of one browser session (its rotations, and the
// records of the session and remember cookies) form a group, so that
// Delete can end all of them. memcached has no transactions; the store
// keeps two kinds of items beside the records, named raw (keys.go), so that
// the reference never reads or writes them:
//
//   - a group pointer per record, "[prefix:]name:key:@group[:suffix]",
//     whose value is the group id (16 random bytes, base64url), empty for a
//     record that is a group of its own, whose flags hold the record's
//     expiry, and which expires with the record;
//   - a member list per group, "[prefix:]@group:id[:suffix]", in the
//     format of the subject index ("name/key:exp;" per member), with the
//     expiry of its longest-lived member in its flags and as its own.
//
// A record that nothing joined has no group (its pointer is empty, or
// missing for a record the reference wrote): it is a group of its own, and
// becomes a grouped record when a first record joins it (adopt). A group has ended when its member list is gone:
// ending a group deletes the records the list names, then removes the list
// with a compare-and-swap (an item expired at once) that fails if the list
// changed since it was read, and joining a group is a compare-and-swap of
// that same list. Whichever comes first, the join or the end, the other
// sees it: a join after the end fails (and the joining Set removes its own
// record), an end after a join deletes the record that joined, which is
// written before it joins.

// errGroupEnded is returned when the group a record would join has ended:
// its records were deleted, so the new one must not live.
var errGroupEnded = errors.New("its session group has ended")

// casAttempts bounds the compare-and-swap rounds of one change of an item
// that others change at the same time.
const casAttempts = 10

// memberGrace is how long past its expiry a member stays in its group's
// list: memcached counts whole seconds, and the application servers'
// clocks, which compute the expiries, may differ a little from each other,
// so a record may still be readable a moment after the expiry its entry
// says. Ending the group deletes it all the same. The list itself outlives
// its longest-lived member by as much.
const memberGrace = 5

// maxMembers bounds a group's member list, which every save of the browser
// session reads and rewrites: a group keeps at most that many records (its
// live ones, and the stale ones of the last stale TTL). A save beyond it
// deletes the records that would expire soonest, the stale ones first,
// which the stale TTL allows ("at most"). Without it, a session saved many
// times a second would make each save cost more than the one before.
const maxMembers = 64

// anchor is the record a new record joins the group of, as read before the
// write: its group pointer (nil when it has none, as a record the
// reference wrote), its expiry (from the pointer's flags; 0 when unknown)
// and its group id ("" when it has no group yet).
type anchor struct {
	recordRef
	pointer *memcache.Item
	exp     int64
	group   string
	old     bool // it is the record the new one replaces (opts.OldKey)
}

// role names the anchor in errors.
func (a *anchor) role() string {
	if a.old {
		return "old record"
	}
	return "partner record"
}

// join adds the record of w to the group of a, and writes the record's
// group pointer. It returns errGroupEnded when the group ended before the
// record joined it: the caller then takes its record back.
//
// Everything a Delete must find of the record (the record, its pointer,
// its index entries) is written before the record becomes reachable from
// the group (the compare-and-swap of addMember, the pointer adopt adds), so
// that a Delete that ends the group after that point deletes all of it.
func (s *Store) join(w *write, a *anchor) error {
	for range casAttempts {
		if a.group == "" {
			ok, err := s.adopt(w, a)
			if err != nil || ok {
				return err
			}
			// The anchor's pointer changed meanwhile: another save gave
			// it a group at the same time (join that one), or it is gone
			// (adopt again: if the anchor was deleted, adopt finds out).
			it, err := s.client.Get(a.ptr)
			if errors.Is(err, memcache.ErrCacheMiss) {
				a.pointer, a.group = nil, ""
				continue
			}
			if err != nil {
				return err
			}
			a.pointer, a.group = it, string(it.Value)
			if a.group == "" {
				continue
			}
			if !validPart(a.group) {
				return fmt.Errorf("corrupt group pointer %q: %q", a.ptr, it.Value)
			}
		}
		if err := s.setPointer(w, a.group); err != nil {
			return err
		}
		return s.addMember(w, a)
	}
	return fmt.Errorf("the group of %q keeps changing", a.rec)
}

// setPointer writes the group pointer of the record of w: the group id
// ("" for none) and, in its flags, the record's expiry.
func (s *Store) setPointer(w *write, id string) error {
	return s.client.Set(&memcache.Item{Key: w.ptr, Value: []byte(id), Flags: uint32(w.expires), Expiration: expiration(w.ttl)})
}

// adopt makes a new group of the anchor, which has none yet, and the record
// of w: it writes the record's pointer and the member list, then gives the
// anchor its pointer to the group (with add when it has none, else with
// compare-and-swap of its empty pointer, so that two saves that adopt the
// same anchor at once end up in one group: the second gets false and joins
// the first's group), then checks that the anchor still exists. That check
// closes the race with a Delete of the anchor, which deletes the record
// before it reads the pointer: either Delete sees the pointer and ends the
// group, or the check sees the record gone and adopt ends the group itself.
func (s *Store) adopt(w *write, a *anchor) (bool, error) {
	id := newGroupID()
	gk := s.groupKey(id)
	aExp := a.memberExp(w)
	list := appendEntry(appendEntry(make([]byte, 0, 128), member(a.name, a.key), aExp), member(w.name, w.key), w.expires)
	maxExp := max(aExp, w.expires)
	if err := s.setPointer(w, id); err != nil {
		return false, err
	}
	err := s.client.Add(&memcache.Item{Key: gk, Value: list, Flags: uint32(maxExp), Expiration: expireAt(maxExp+memberGrace, w.now)})
	if err != nil {
		return false, err // ErrNotStored too: a fresh random id is never taken
	}
	p := &memcache.Item{Key: a.ptr, Value: []byte(id), Flags: uint32(a.knownExp(w)), Expiration: expireAt(aExp, w.now)}
	if a.pointer == nil {
		err = s.client.Add(p)
	} else {
		p.CasID = a.pointer.CasID
		err = s.client.CompareAndSwap(p)
	}
	if errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrCacheMiss) {
		s.client.Delete(gk) // nobody points at it; it would expire anyway
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// memcached appends nothing to an existing item and answers
	// NOT_STORED for a missing one: an existence check that does not send
	// the value back.
	err = s.client.Append(&memcache.Item{Key: a.rec})
	if errors.Is(err, memcache.ErrNotStored) {
		if _, err := s.endGroup(id, member(a.name, a.key)); err != nil {
			return false, err
		}
		return false, errGroupEnded
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// memberExp is the expiry of the anchor in its group's member list: its
// own, or, for the record being replaced, at most the stale TTL from now;
// a record whose expiry is unknown (written by the reference) counts as
// living as long as the new record, or the stale TTL when it is being
// replaced.
func (a *anchor) memberExp(w *write) int64 {
	exp := a.knownExp(w)
	if exp == 0 {
		exp = w.expires
	}
	return max(exp, w.now+1)
}

// knownExp is the anchor's expiry once the save is done, 0 when unknown:
// its own, or, for the record being replaced, which the save touches to
// the stale TTL unless it expires sooner, at most the stale TTL from now.
func (a *anchor) knownExp(w *write) int64 {
	if a.old && (a.exp == 0 || a.exp > w.staleExp) {
		return max(w.staleExp, w.now+1)
	}
	return a.exp
}

// addMember adds the record of w to the member list of the anchor's group
// with compare-and-swap, lowers the entry of the record w replaces to its
// stale expiry when it is listed, drops entries expired for longer than
// memberGrace, deletes the records beyond maxMembers, and keeps the
// list's expiry at that of its longest-lived member. A missing list is a
// group that ended: errGroupEnded.
func (s *Store) addMember(w *write, a *anchor) error {
	gk := s.groupKey(a.group)
	for range casAttempts {
		it, err := s.client.Get(gk)
		if errors.Is(err, memcache.ErrCacheMiss) {
			return errGroupEnded
		}
		if err != nil {
			return err
		}
		live, _, err := parseList(it.Value, w.now-memberGrace)
		if err != nil {
			return fmt.Errorf("group %q: %w", gk, err)
		}
		self := member(w.name, w.key)
		live[self] = w.expires
		if w.old != nil {
			if m := member(w.name, w.old.key); live[m] > w.staleExp {
				live[m] = max(w.staleExp, w.now+1)
			}
		}
		if err := s.evict(live, self); err != nil {
			return err
		}
		list, maxExp := encodeList(live)
		maxExp = max(maxExp, int64(it.Flags)) // a list never expires sooner than it did
		it.Value, it.Flags, it.Expiration = list, uint32(maxExp), expireAt(maxExp+memberGrace, w.now)
		err = s.client.CompareAndSwap(it)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, memcache.ErrCASConflict):
			continue
		case errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored):
			return errGroupEnded
		default:
			return err
		}
	}
	return fmt.Errorf("group %q keeps changing", gk)
}

// evict deletes the records of live that expire soonest, never keep,
// until maxMembers are left, with their pointers. They are deleted before
// the list stops naming them, so that no readable record leaves the group.
func (s *Store) evict(live map[string]int64, keep string) error {
	if len(live) <= maxMembers {
		return nil
	}
	var out []string
	for _, e := range sortedEntries(live) {
		if len(live)-len(out) == maxMembers {
			break
		}
		if e.Key != keep {
			out = append(out, e.Key)
		}
	}
	if err := s.deleteMembers(out, s.Key); err != nil {
		return err
	}
	if err := s.deleteMembers(out, s.pointerKey); err != nil {
		return err
	}
	for _, m := range out {
		delete(live, m)
	}
	return nil
}

// endGroup ends group id and deletes its records: it reads the member
// list, deletes the members' records, then removes the list with
// compare-and-swap (memcached expires an item stored with a negative
// expiration at once), so that no record joins the group afterwards, and
// last deletes the members' group pointers. A record that joined between
// the read and the swap makes the swap fail: endGroup reads the list again
// and deletes that record too. Until the swap, a Delete that fails half
// way (a lost connection) leaves the list, and the pointer it was reached
// through, in place: calling it again finds every member. It returns the
// members, as "name/key", expired or not; a list already gone is no error
// (the group ended before, or expired after all its members). The record of
// member gone is known deleted already.
func (s *Store) endGroup(id, gone string) ([]string, error) {
	gk := s.groupKey(id)
	for range casAttempts {
		it, err := s.client.Get(gk)
		if errors.Is(err, memcache.ErrCacheMiss) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		// Every entry, also those past their expiry on the library's
		// clock, which memcached may not have expired yet.
		all, _, perr := parseList(it.Value, 0)
		members := make([]string, 0, len(all))
		for m := range all {
			members = append(members, m)
		}
		slices.Sort(members)
		records := slices.DeleteFunc(slices.Clone(members), func(m string) bool { return m == gone })
		if err := s.deleteMembers(records, s.Key); err != nil {
			return nil, err
		}
		it.Value, it.Expiration = nil, -1
		err = s.client.CompareAndSwap(it)
		switch {
		case errors.Is(err, memcache.ErrCASConflict):
			continue
		case err != nil && !errors.Is(err, memcache.ErrCacheMiss) && !errors.Is(err, memcache.ErrNotStored):
			return nil, err
		case perr != nil:
			// Ended, so that nothing joins it, but its members are unknown.
			return nil, fmt.Errorf("group %q: %w", gk, perr)
		}
		return members, s.deleteMembers(members, s.pointerKey)
	}
	return nil, fmt.Errorf("group %q keeps changing", gk)
}

// deleteMembers deletes the item itemKey(name, key) of each member
// ("name/key"): its record (Store.Key) or its group pointer
// (Store.pointerKey).
func (s *Store) deleteMembers(members []string, itemKey func(name, key string) string) error {
	for _, m := range members {
		if name, key, ok := splitMember(m); ok {
			if err := s.deleteItem(itemKey(name, key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteItem deletes k; a missing item is not an error.
func (s *Store) deleteItem(k string) error {
	if err := s.client.Delete(k); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return err
	}
	return nil
}
