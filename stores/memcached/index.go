package memcachedstore

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	session "github.com/sessiongo/session/core"
)

// The subject index is a list of entries "key:exp;" and tombstones "key;",
// as the reference's memcached storage writes it: exp is the expiry in unix
// seconds, five bytes little endian, base64url without padding (seven
// characters). A later entry or tombstone of a key replaces an earlier one.

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

// validIndexKey reports whether key can be written into a list: the
// separators ':' and ';' would corrupt it. Storage keys made by the session
// library (base64url) never contain them.
func validIndexKey(key string) bool {
	return key != "" && !strings.ContainsAny(key, ":;")
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

func sortedEntries(live map[string]int64) []session.IndexEntry {
	out := make([]session.IndexEntry, 0, len(live))
	for k, exp := range live {
		out = append(out, session.IndexEntry{Key: k, Expires: time.Unix(exp, 0)})
	}
	slices.SortFunc(out, func(a, b session.IndexEntry) int {
		if c := a.Expires.Compare(b.Expires); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}
