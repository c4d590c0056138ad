package session

import (
	"context"
	"sync"
	"time"

	"github.com/sessiongo/session/core/store"
)

// memMarks holds the revocation marks of a MemoryStore, apart from its
// records: a mark is never evicted to make room (that would revoke less),
// so when the store holds as many live marks as MaxEntries, Revoke fails
// instead. The zero value is ready to use.
type memMarks struct {
	mu    sync.RWMutex
	marks map[string]memMark
}

// memMark is one mark: its At and its expiry.
type memMark struct {
	at      int64 // unix seconds
	expires int64 // unix nanoseconds; alive while now < expires
}

var errMemMarksFull = newError(ErrStore, "memory store: full of revocation marks")

// validMarks checks the marks a store is given.
func validMarks(marks []store.Mark) bool {
	for _, mk := range marks {
		if mk.Key == "" || mk.TTL <= 0 || mk.At.IsZero() {
			return false
		}
	}
	return true
}

// markCapacity is how many live marks the store holds: MaxEntries.
func (s *MemoryStore) markCapacity() int {
	n := 0
	for i := range s.shards {
		n += s.shards[i].capacity
	}
	return n
}

// Revoke writes revocation marks, each for mark.TTL from now (the store's
// clock when now is zero). A key that already has a live mark keeps the
// later of the two At values and the later expiry. When the store already
// holds MaxEntries live marks, Revoke writes nothing and fails with an
// error matching ErrStore; so does a mark without a key, a TTL or an At.
// It implements store.Revoker.
func (s *MemoryStore) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validMarks(marks) {
		return wrapError(ErrStore, "memory store: invalid revocation mark (want a key, a positive TTL and an At)", nil)
	}
	t := s.now(now)
	limit := s.markCapacity()
	mm := &s.marks
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.marks == nil {
		mm.marks = map[string]memMark{}
	}
	added := 0
	for _, mk := range marks {
		if old, ok := mm.marks[mk.Key]; !ok || old.expires <= t {
			added++
		}
	}
	if len(mm.marks)+added > limit {
		mm.dropExpired(t)
		if len(mm.marks)+added > limit {
			return errMemMarksFull
		}
	}
	for _, mk := range marks {
		m := memMark{at: mk.At.Unix(), expires: t + int64(mk.TTL)}
		if old, ok := mm.marks[mk.Key]; ok && old.expires > t {
			m.at, m.expires = max(m.at, old.at), max(m.expires, old.expires)
		}
		mm.marks[mk.Key] = m
	}
	return nil
}

// Revoked returns, for each key, the At of its live mark at now (the
// store's clock when now is zero), or the zero Time. It implements
// store.Revoker.
func (s *MemoryStore) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := s.now(now)
	out := make([]time.Time, len(keys))
	mm := &s.marks
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	for i, k := range keys {
		if m, ok := mm.marks[k]; ok && m.expires > t {
			out[i] = time.Unix(m.at, 0)
		}
	}
	return out, nil
}

// dropExpired removes the marks expired at t; mm.mu is held.
func (mm *memMarks) dropExpired(t int64) int {
	n := 0
	for k, m := range mm.marks {
		if m.expires <= t {
			delete(mm.marks, k)
			n++
		}
	}
	return n
}

// cleanup removes the marks expired at t.
func (mm *memMarks) cleanup(t int64) {
	mm.mu.Lock()
	mm.dropExpired(t)
	mm.mu.Unlock()
}

var _ store.Revoker = (*MemoryStore)(nil)
