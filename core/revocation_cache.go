package session

import (
	"sync"
	"time"

	"github.com/sessiongo/session/core/store"
)

// revocationCache keeps the answers of the revocation backend for a while
// (Config.RevocationCacheTTL) and its failures for another
// (Config.RevocationCacheErrorTTL), in this Manager's memory. It is keyed
// by what a mark revokes before hashing (revKey), so that a hit costs a
// map lookup under a read lock and no SHA-256. Safe for concurrent use.
//
// The price is a window: a mark written by another process is seen here up
// to RevocationCacheTTL after this cache last asked the backend about that
// key. Marks written by this Manager enter the cache at once. A cached
// mark is never weakened by a later answer (a lookup that was already on
// its way when this Manager wrote the mark).
//
// Entries are added only for cookies whose MAC was verified and for marks
// this Manager writes, so forged cookies cannot fill the cache. When it is
// full, expired entries go first, then an eighth of it, taken at random
// (Go's map order): an evicted entry only costs a lookup.
type revocationCache struct {
	ttl, errTTL time.Duration
	size        int

	mu      sync.RWMutex
	entries map[revKey]revEntry
}

// revEntry is one cached answer.
type revEntry struct {
	expires int64 // the Manager's clock, unix nanoseconds
	at      int64 // the mark's At, unix seconds, when marked
	marked  bool
	err     error // a cached failure of the backend
}

func newRevocationCache(size int, ttl, errTTL time.Duration) *revocationCache {
	return &revocationCache{ttl: ttl, errTTL: errTTL, size: size, entries: make(map[revKey]revEntry)}
}

// lookup answers from the cache: revoked when a cached mark revokes a
// cookie created at creation, else the last cached failure among keys, if
// any; the indexes of the keys it does not hold are appended to miss.
func (c *revocationCache) lookup(keys []revKey, creation int64, now time.Time, miss []int) (_ []int, revoked bool, err error) {
	t := now.UnixNano()
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := range keys {
		e, ok := c.entries[keys[i]]
		switch {
		case !ok || e.expires <= t:
			miss = append(miss, i)
		case e.err != nil:
			err = e.err
		case e.marked && keys[i].revokes(e.at, creation):
			return miss, true, nil
		}
	}
	return miss, false, err
}

// putAnswers caches the backend's answers ats for keys[miss[j]].
func (c *revocationCache) putAnswers(keys []revKey, miss []int, ats []time.Time, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, i := range miss {
		e := revEntry{expires: t + int64(c.ttl)}
		if !ats[j].IsZero() {
			e.marked, e.at = true, ats[j].Unix()
		}
		c.set(keys[i], e, t)
	}
}

// putError caches a failure of the backend for keys[miss[j]].
func (c *revocationCache) putError(keys []revKey, miss []int, err error, now time.Time) {
	if c.errTTL <= 0 {
		return
	}
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range miss {
		c.set(keys[i], revEntry{expires: t + int64(c.errTTL), err: err}, t)
	}
}

// putMarks caches marks this Manager writes, keys[i] being what marks[i]
// revokes, for the answer TTL (or the error TTL when only errors are
// cached, so that a cached failure does not hide this Manager's own mark).
func (c *revocationCache) putMarks(keys []revKey, marks []store.Mark, now time.Time) {
	ttl := c.ttl
	if ttl <= 0 {
		ttl = c.errTTL
	}
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range keys {
		c.set(keys[i], revEntry{expires: t + int64(ttl), marked: true, at: marks[i].At.Unix()}, t)
	}
}

// set stores e under k, unless a live cached mark would be weakened: a
// later or equal mark stays. c.mu is held.
func (c *revocationCache) set(k revKey, e revEntry, t int64) {
	old, ok := c.entries[k]
	if ok && old.expires > t && old.marked && (!e.marked || e.at < old.at) {
		return
	}
	if !ok && len(c.entries) >= c.size {
		c.evict(t)
	}
	c.entries[k] = e
}

// evict makes room: expired entries go, then entries at random until an
// eighth of the cache is free. c.mu is held.
func (c *revocationCache) evict(t int64) {
	for k, e := range c.entries {
		if e.expires <= t {
			delete(c.entries, k)
		}
	}
	target := c.size - c.size/8 - 1
	for k := range c.entries {
		if len(c.entries) <= target {
			break
		}
		delete(c.entries, k)
	}
}
