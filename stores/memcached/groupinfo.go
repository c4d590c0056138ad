package memcachedstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessiongo/session/core/store"
)

// Group info (store.GroupInfoReader). A save with SetOptions.Seen writes an
// info item for its record, named raw beside its group pointer,
// "[prefix:]name:key:@info[:suffix]", expiring with the record: JSON
// {"c": created, "s": seen (unix ms), "f": facts}, the creation time and
// (when the save carries none) the facts taken from the info of the record
// it joins. GroupInfo merges the info items of the group's members: the
// earliest creation, the latest seen, and the facts of the latest seen.
// Delete removes the info items with their records. It costs a save with
// Seen one write, and one read when it joins a group; memcached has no
// transactions, so two saves of one browser session at the same instant may
// each keep their own facts (the listing shows the latest seen's).

// infoSuffix follows a record's key in the name of its info item.
const infoSuffix = "@info"

// infoKey returns the key of the info item of a record.
func (s *Store) infoKey(name, key string) string {
	return store.Key(s.prefix, s.suffix, name, key, infoSuffix)
}

// itemInfo is the value of an info item.
type itemInfo struct {
	Created int64  `json:"c"`
	Seen    int64  `json:"s"`
	Facts   []byte `json:"f,omitempty"`
}

// noteInfo writes the info item of the record of w, taking the creation
// time and facts of the record it joined (a, nil for none).
func (s *Store) noteInfo(w *write, a *anchor) error {
	seen := w.seen.UnixMilli()
	info := itemInfo{Created: seen, Seen: seen, Facts: w.facts}
	if a != nil {
		it, err := s.client.Get(s.infoKey(a.name, a.key))
		switch {
		case err == nil:
			var prev itemInfo
			if json.Unmarshal(it.Value, &prev) == nil {
				if prev.Created != 0 {
					info.Created = prev.Created
				}
				if info.Facts == nil {
					info.Facts = prev.Facts
				}
			}
		case !errors.Is(err, memcache.ErrCacheMiss):
			return err
		}
	}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return s.client.Set(&memcache.Item{Key: s.infoKey(w.name, w.key), Value: b, Expiration: expiration(w.ttl)})
}

// GroupInfo returns the info of the group of the record under name and key:
// its ID (a hash of the group id, or of the record's key for a record of a
// group of its own), and the merged info of its members. A missing or
// expired record is an error matching session.ErrNotFound. Three round
// trips for a grouped record.
func (s *Store) GroupInfo(ctx context.Context, name, key string, now time.Time) (store.GroupInfo, error) {
	r, err := s.ref("record", name, key)
	if err != nil {
		return store.GroupInfo{}, fmt.Errorf("memcachedstore: group info: %w", err)
	}
	var out store.GroupInfo
	err = run(ctx, "group info", func() error {
		// An empty append: NOT_STORED for a missing record, and no value
		// sent back.
		if err := s.client.Append(&memcache.Item{Key: r.rec}); errors.Is(err, memcache.ErrNotStored) {
			return notFound("group info", "record", err)
		} else if err != nil {
			return err
		}
		members := []string{member(name, key)}
		out.ID = infoID("r", r.rec)
		ptr, err := s.client.Get(r.ptr)
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
		case err != nil:
			return err
		case len(ptr.Value) > 0 && validPart(string(ptr.Value)):
			out.ID = infoID("g", string(ptr.Value))
			list, err := s.client.Get(s.groupKey(string(ptr.Value)))
			if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
				return err
			}
			if err == nil {
				live, _, perr := parseList(list.Value, unix(now)-memberGrace)
				if perr != nil {
					return perr
				}
				for m := range live {
					if m != members[0] {
						members = append(members, m)
					}
				}
			}
		}
		keys := make([]string, 0, len(members))
		for _, m := range members {
			if n, k, ok := splitMember(m); ok {
				keys = append(keys, s.infoKey(n, k))
			}
		}
		items, err := s.client.GetMulti(keys)
		if err != nil {
			return err
		}
		var latest int64
		for _, it := range items {
			var info itemInfo
			if json.Unmarshal(it.Value, &info) != nil {
				continue
			}
			if info.Created != 0 && (out.Created.IsZero() || info.Created < out.Created.UnixMilli()) {
				out.Created = time.UnixMilli(info.Created)
			}
			if info.Seen > latest {
				latest, out.Seen, out.Facts = info.Seen, time.UnixMilli(info.Seen), info.Facts
			}
		}
		return nil
	})
	return out, err
}

// infoID names a group by a hash of its id (kind "g") or of the key of the
// record that is a group of its own (kind "r").
func infoID(kind, k string) string {
	sum := sha256.Sum256([]byte(kind + ":" + k))
	return fmt.Sprintf("%x", sum[:16])
}

var _ store.GroupInfoReader = (*Store)(nil)
