package session

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sessiongo/session/core/store"
)

// memGroupSeq numbers memory store groups for store.GroupInfo.ID.
var memGroupSeq atomic.Uint64

// memGroupInfo is the Go-only info of a memory store group, guarded by
// memGroups.mu.
type memGroupInfo struct {
	id            uint64
	created, seen time.Time
	facts         []byte
}

// note records a save's Seen and Facts in the info of g.
func (gs *memGroups) note(g *memGroup, seen time.Time, facts []byte) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if g.info.created.IsZero() {
		g.info.created = seen
	}
	g.info.seen = seen
	if facts != nil {
		g.info.facts = bytes.Clone(facts)
	}
}

// info returns the info of g, numbering it on first use.
func (gs *memGroups) info(g *memGroup) store.GroupInfo {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if g.info.id == 0 {
		g.info.id = memGroupSeq.Add(1)
	}
	return store.GroupInfo{
		ID:      strconv.FormatUint(g.info.id, 10),
		Created: g.info.created,
		Seen:    g.info.seen,
		Facts:   bytes.Clone(g.info.facts),
	}
}

// GroupInfo returns the info of the group of the record under name and key
// (store.GroupInfoReader); a missing or expired record is an error matching
// ErrNotFound.
func (s *MemoryStore) GroupInfo(ctx context.Context, name, key string, now time.Time) (store.GroupInfo, error) {
	if err := ctx.Err(); err != nil {
		return store.GroupInfo{}, err
	}
	g := s.groupOf(memKey{name, key}, s.now(now))
	if g == nil {
		return store.GroupInfo{}, errMemNotFound
	}
	return s.groups.info(g), nil
}

var _ store.GroupInfoReader = (*MemoryStore)(nil)
