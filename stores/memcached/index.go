package memcachedstore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessiongo/session/core/store"
)

// The subject index is a list of entries "key:exp;" and tombstones "key;",
// as the reference's memcached storage writes it: exp is the expiry in unix
// seconds, five bytes little endian, base64url without padding (seven
// characters). A later entry or tombstone of a key replaces an earlier one.
// Group member lists (group.go) use the same format, with "name/key" as
// the key.

// compactAttempts bounds the gets/cas rounds of one list compaction.
const compactAttempts = 5

// appendEntry appends the entry of key, expiring at exp, to b.
func appendEntry(b []byte, key string, exp int64) []byte {
	var n [5]byte
	for i := range n {
		n[i] = byte(exp >> (8 * i))
	}
	b = append(b, key...)
	b = append(b, ':')
	b = base64.RawURLEncoding.AppendEncode(b, n[:])
	return append(b, ';')
}

// appendTombstone appends the tombstone of key to b.
func appendTombstone(b []byte, key string) []byte {
	return append(append(b, key...), ';')
}

// parseList returns the live entries of list at now (expiry after now) and
// whether the list holds anything else (expired entries, tombstones, entries
// replaced by a later one), which compaction would drop.
func parseList(list []byte, now int64) (live map[string]int64, garbage bool, err error) {
	live = map[string]int64{}
	count := 0
	for rest := string(list); rest != ""; {
		end := strings.IndexByte(rest, ';')
		if end < 0 {
			return nil, false, fmt.Errorf("memcachedstore: corrupt subject index: unterminated entry %q", rest)
		}
		item := rest[:end]
		rest = rest[end+1:]
		count++
		key, enc, hasExp := strings.Cut(item, ":")
		if !hasExp {
			delete(live, key)
			continue
		}
		var n [5]byte
		if len(enc) != 7 {
			return nil, false, fmt.Errorf("memcachedstore: corrupt subject index entry %q", item)
		}
		if _, err := base64.RawURLEncoding.Decode(n[:], []byte(enc)); err != nil {
			return nil, false, fmt.Errorf("memcachedstore: corrupt subject index entry %q: %w", item, err)
		}
		var exp int64
		for i := range n {
			exp |= int64(n[i]) << (8 * i)
		}
		if exp > now {
			live[key] = exp
		} else {
			delete(live, key)
		}
	}
	return live, count != len(live), nil
}

// encodeList returns the compacted list of live, soonest to expire first,
// and its latest expiry.
func encodeList(live map[string]int64) (list []byte, maxExp int64) {
	entries := sortedEntries(live)
	list = make([]byte, 0, len(entries)*52)
	for _, e := range entries {
		exp := e.Expires.Unix()
		list = appendEntry(list, e.Key, exp)
		maxExp = max(maxExp, exp)
	}
	return list, maxExp
}

func sortedEntries(live map[string]int64) []store.IndexEntry {
	out := make([]store.IndexEntry, 0, len(live))
	for k, exp := range live {
		out = append(out, store.IndexEntry{Key: k, Expires: time.Unix(exp, 0)})
	}
	slices.SortFunc(out, func(a, b store.IndexEntry) int {
		if c := a.Expires.Compare(b.Expires); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// addToList appends entry to the list ik, or creates the list with it, as
// the reference does: flags 0, no expiry. It reports whether it appended.
// Appending first saves a round trip in the usual case, a session whose
// list exists.
func (s *Store) addToList(ik string, entry []byte) (appended bool, err error) {
	for range 3 {
		err := s.client.Append(&memcache.Item{Key: ik, Value: entry})
		if !errors.Is(err, memcache.ErrNotStored) {
			return err == nil, err
		}
		// No list: create it, unless someone else just did.
		err = s.client.Add(&memcache.Item{Key: ik, Value: entry})
		if !errors.Is(err, memcache.ErrNotStored) {
			return false, err
		}
	}
	return false, fmt.Errorf("memcachedstore: subject index %q keeps appearing and vanishing", ik)
}

// compact reads the list ik, drops its expired and replaced entries and
// writes it back with compare-and-swap, without an expiry, or deletes it
// (an item stored with a negative expiration expires at once) when no live
// entry is left. It returns the live entries. A list with nothing to drop is
// left as it is, unless force is set. A list changed by someone else between
// the read and the write is read again; after compactAttempts tries the list
// is left as it is (still correct, only longer).
//
// Lists never get an expiry: the reference appends to a list without
// changing its expiry, so any expiry could end a list before a session the
// reference appended to it. The reference's own cleanup gives lists one;
// every save of this store that appends to a list takes it off (force).
func (s *Store) compact(ik string, now int64, force bool) (map[string]int64, error) {
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
		if !garbage && !force {
			return live, nil
		}
		if len(live) == 0 {
			it.Value, it.Expiration = nil, -1
		} else {
			it.Value, _ = encodeList(live)
			it.Expiration = 0
		}
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
