package session

import (
	"bytes"
	"container/heap"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/session/core/store"
)

// MemoryStore is a Store that keeps records in the process's memory, the
// counterpart of the reference library's shm store: bounded in size (see
// WithMaxEntries), with TTLs judged against the Now of each call, the stale
// TTL of replaced records, and a subject index (it implements
// store.SubjectIndex). It is safe for concurrent use; records are sharded
// so that requests rarely wait on one another. Records do not survive a
// restart and are not shared between processes. Make one with
// NewMemoryStore.
//
// Values are copied on Set and on Get. Context cancellation is checked when
// a call starts: a cancelled call changes nothing and returns the context's
// error.
type MemoryStore struct {
	shards  []memShard
	indexes []memIndexShard
	groups  memGroups
	clock   func() time.Time
	marks   memMarks // revocation marks (memory_revocation.go)

	cleaner
}

type memKey struct{ name, key string }

type memItem struct {
	k          memKey
	value      []byte
	expires    int64 // unix nanoseconds; alive while now < expires
	anonymous  bool  // no subject: evicted before signed-in sessions
	group      *memGroup
	heapIdx    int
	prev, next *memItem
}

// memShard is one shard of records: a map, two LRU lists (root.next is the
// most recently used; anonymous records apart from signed-in ones) and a
// min-heap on expiry.
type memShard struct {
	mu       sync.Mutex
	items    map[memKey]*memItem
	heap     memHeap
	root     memItem // signed-in records
	anon     memItem // anonymous records
	capacity int
	groups   *memGroups
}

// memGroup is the set of records of one browser session (see Store.Set):
// Delete of any member removes them all. A record that nobody joined yet
// has no memGroup: it is a group of one. A set, not a list: a cookie
// replayed within its stale TTL forks the session once per request, and
// leaving must not cost the size of the group.
type memGroup struct {
	members map[memKey]struct{}
	deleted bool         // Delete ended the group: nobody may join it
	info    memGroupInfo // Go-only facts (memory_devices.go)
}

// newMemGroup returns a group of the one record k.
func newMemGroup(k memKey) *memGroup {
	return &memGroup{members: map[memKey]struct{}{k: {}}}
}

// memGroups guards the membership of every group. Lock order: a record
// shard, then groups; Delete takes groups alone and then the shards one by
// one.
type memGroups struct{ mu sync.Mutex }

// join adds k to g, unless g was deleted.
func (gs *memGroups) join(g *memGroup, k memKey) bool {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if g.deleted {
		return false
	}
	g.members[k] = struct{}{}
	return true
}

// leave removes k from g.
func (gs *memGroups) leave(g *memGroup, k memKey) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	delete(g.members, k)
}

// end marks g deleted and returns its members.
func (gs *memGroups) end(g *memGroup) []memKey {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	g.deleted = true
	members := make([]memKey, 0, len(g.members))
	for k := range g.members {
		members = append(members, k)
	}
	g.members = nil
	return members
}

type memIndexKey struct{ name, audience, subject string }

// memIndexShard holds the subject index entries of some audience and
// subject pairs: storage key -> expiry. Lock order: an index shard, then a
// record shard, never the other way round.
type memIndexShard struct {
	mu      sync.Mutex
	entries map[memIndexKey]map[string]int64
}

const memMaxShards = 32

var errMemNotFound = newError(ErrNotFound, "memory store: no such record")

// NewMemoryStore returns an empty MemoryStore. It takes the options
// WithMaxEntries, WithCleanupInterval and WithClock; any other option, or a
// bad value, is an error matching ErrInvalidConfig. With
// WithCleanupInterval it starts a cleaner goroutine: call Stop when done
// with the store.
func NewMemoryStore(opts ...StoreOption) (*MemoryStore, error) {
	o, err := newStoreOptions("memory store", true, opts)
	if err != nil {
		return nil, err
	}
	if o.maxEntries == 0 {
		o.maxEntries = DefaultMemoryStoreMaxEntries
	}
	n := min(max(o.maxEntries/256, 1), memMaxShards)
	s := &MemoryStore{
		shards:  make([]memShard, n),
		indexes: make([]memIndexShard, memMaxShards),
		clock:   o.clock,
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.items = map[memKey]*memItem{}
		sh.root.prev, sh.root.next = &sh.root, &sh.root
		sh.anon.prev, sh.anon.next = &sh.anon, &sh.anon
		sh.groups = &s.groups
		sh.capacity = o.maxEntries / n
		if i < o.maxEntries%n {
			sh.capacity++
		}
	}
	for i := range s.indexes {
		s.indexes[i].entries = map[memIndexKey]map[string]int64{}
	}
	if o.cleanup > 0 {
		s.startCleaner(o.cleanup, func() { s.Cleanup(s.clock()) })
	}
	return s, nil
}

// fnv1a hashes parts separated by a byte no part can make ambiguous.
func fnv1a(parts ...string) uint64 {
	h := uint64(14695981039346656037)
	for i, p := range parts {
		if i > 0 {
			h ^= 0xff
			h *= 1099511628211
		}
		for j := 0; j < len(p); j++ {
			h ^= uint64(p[j])
			h *= 1099511628211
		}
	}
	return h
}

func (s *MemoryStore) shard(k memKey) *memShard {
	if len(s.shards) == 1 {
		return &s.shards[0]
	}
	return &s.shards[fnv1a(k.name, k.key)%uint64(len(s.shards))]
}

func (s *MemoryStore) indexShard(k memIndexKey) *memIndexShard {
	return &s.indexes[fnv1a(k.name, k.audience, k.subject)%uint64(len(s.indexes))]
}

// now returns t, or the store's clock when t is zero, in unix nanoseconds.
func (s *MemoryStore) now(t time.Time) int64 {
	if t.IsZero() {
		t = s.clock()
	}
	return t.UnixNano()
}

// Get returns a copy of the value stored under name and key; a missing or
// expired record (judged against opts.Now) is an error matching
// ErrNotFound.
func (s *MemoryStore) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now(opts.Now)
	k := memKey{name, key}
	sh := s.shard(k)
	sh.mu.Lock()
	it := sh.items[k]
	if it == nil {
		sh.mu.Unlock()
		return nil, errMemNotFound
	}
	if it.expires <= now {
		sh.remove(it)
		sh.mu.Unlock()
		return nil, errMemNotFound
	}
	sh.touch(it)
	v := bytes.Clone(it.value)
	sh.mu.Unlock()
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Set stores a copy of value under name and key for opts.TTL from
// opts.Now, shortens the life of the opts.OldKey record to opts.StaleTTL
// (removing it when StaleTTL is not positive), and updates the subject
// index of opts.Metadata. The record joins the group of opts.Partner or
// opts.OldKey; when that record is not readable, nothing is stored and the
// error matches ErrNotFound. With opts.Replace only the value of an existing
// record changes.
func (s *MemoryStore) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now(opts.Now)
	k := memKey{name, key}
	v := bytes.Clone(value)
	if opts.Replace {
		sh := s.shard(k)
		sh.mu.Lock()
		defer sh.mu.Unlock()
		it := sh.live(k, now)
		if it == nil {
			return errMemNotFound
		}
		it.value = v
		sh.touch(it)
		return nil
	}
	if opts.TTL <= 0 {
		return wrapError(ErrStore, "memory store: invalid ttl", nil)
	}
	if md := opts.Metadata; md != nil && len(md.Audiences) != len(md.Subjects) {
		return wrapError(ErrStore, "memory store: metadata audiences and subjects differ in number", nil)
	}
	var old memKey
	if opts.OldKey != "" && opts.OldKey != key {
		old = memKey{name, opts.OldKey}
	}
	var g *memGroup
	for _, from := range [...]memKey{{opts.Partner.Name, opts.Partner.Key}, old} {
		if from.key == "" || g != nil {
			continue
		}
		if g = s.groupOf(from, now); g == nil {
			return errMemNotFound // destroyed, revoked or expired meanwhile
		}
	}
	if g == nil && !opts.Seen.IsZero() {
		g = newMemGroup(k) // a group of its own, to hold its info
	}

	expires := now + int64(opts.TTL)
	sh := s.shard(k)
	sh.mu.Lock()
	if err := sh.put(k, v, expires, now, opts.Anonymous, g); err != nil {
		sh.mu.Unlock()
		return err
	}
	sh.mu.Unlock()
	if g != nil && !s.groups.join(g, k) {
		// The group was deleted while this record was being written.
		sh.mu.Lock()
		if it := sh.items[k]; it != nil && it.group == g {
			sh.remove(it)
		}
		sh.mu.Unlock()
		return errMemNotFound
	}
	if g != nil && !opts.Seen.IsZero() {
		s.groups.note(g, opts.Seen, opts.Facts)
	}

	if old.key != "" {
		osh := s.shard(old)
		osh.mu.Lock()
		if it := osh.items[old]; it != nil {
			if opts.StaleTTL <= 0 {
				osh.remove(it)
			} else if stale := now + int64(opts.StaleTTL); it.expires > stale {
				it.expires = stale
				heap.Fix(&osh.heap, it.heapIdx)
			}
		}
		osh.mu.Unlock()
	}

	if md := opts.Metadata; md != nil {
		for i := range md.Audiences {
			s.updateIndex(memIndexKey{name, md.Audiences[i], md.Subjects[i]}, key, expires, opts.OldKey, now)
		}
	}
	return nil
}

// groupOf returns the group of the record under k, making one when the
// record is alone, or nil when no record is readable there.
func (s *MemoryStore) groupOf(k memKey, now int64) *memGroup {
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it := sh.live(k, now)
	if it == nil {
		return nil
	}
	if it.group == nil {
		it.group = newMemGroup(k)
	}
	return it.group
}

// Delete removes the record under name and key and every other record of
// its group, and takes all of them out of the subject indexes of
// opts.Metadata, each under its own cookie name. Deleting a missing record
// is not an error.
func (s *MemoryStore) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := memKey{name, key}
	sh := s.shard(k)
	sh.mu.Lock()
	var g *memGroup
	if it := sh.items[k]; it != nil {
		g = it.group
		sh.remove(it)
	}
	sh.mu.Unlock()
	gone := map[string][]string{name: {key}} // cookie name -> storage keys
	if g != nil {
		for _, mk := range s.groups.end(g) {
			msh := s.shard(mk)
			msh.mu.Lock()
			if it := msh.items[mk]; it != nil && it.group == g {
				msh.remove(it)
			}
			msh.mu.Unlock()
			if mk != k {
				gone[mk.name] = append(gone[mk.name], mk.key)
			}
		}
	}
	if md := opts.Metadata; md != nil {
		now := s.now(opts.Now)
		for i := range min(len(md.Audiences), len(md.Subjects)) {
			for n, keys := range gone {
				s.dropFromIndex(memIndexKey{n, md.Audiences[i], md.Subjects[i]}, keys, now)
			}
		}
	}
	return nil
}

// dropFromIndex removes keys from an index entry set, and prunes it.
func (s *MemoryStore) dropFromIndex(ik memIndexKey, keys []string, now int64) {
	ish := s.indexShard(ik)
	ish.mu.Lock()
	defer ish.mu.Unlock()
	set := ish.entries[ik]
	if set == nil {
		return
	}
	for _, k := range keys {
		delete(set, k)
	}
	s.prune(ik, set, now, nil)
	if len(set) == 0 {
		delete(ish.entries, ik)
	}
}

// updateIndex adds key (when not empty) with its expiry to an index entry
// set, removes drop, and prunes expired entries and entries whose record is
// gone.
func (s *MemoryStore) updateIndex(ik memIndexKey, key string, expires int64, drop string, now int64) {
	ish := s.indexShard(ik)
	ish.mu.Lock()
	defer ish.mu.Unlock()
	set := ish.entries[ik]
	if set == nil {
		if key == "" {
			return
		}
		set = map[string]int64{}
		ish.entries[ik] = set
	}
	if drop != "" {
		delete(set, drop)
	}
	if key != "" {
		set[key] = expires
	}
	s.prune(ik, set, now, nil)
	if len(set) == 0 {
		delete(ish.entries, ik)
	}
}

// prune removes the expired entries of set and those whose record is gone;
// with out, it appends the live ones to *out, with the record's expiry. The
// index shard of ik must be locked.
func (s *MemoryStore) prune(ik memIndexKey, set map[string]int64, now int64, out *[]store.IndexEntry) {
	for key, exp := range set {
		if exp <= now {
			delete(set, key)
			continue
		}
		k := memKey{ik.name, key}
		sh := s.shard(k)
		sh.mu.Lock()
		it := sh.items[k]
		live := it != nil && it.expires > now
		if live {
			exp = it.expires
		}
		sh.mu.Unlock()
		if !live {
			delete(set, key)
			continue
		}
		if out != nil {
			*out = append(*out, store.IndexEntry{Key: key, Expires: time.Unix(0, exp)})
		}
	}
}

// Sessions lists the live sessions of an encoded audience and subject under
// the cookie name, soonest to expire first, pruning expired entries and
// entries whose record was evicted or deleted. It implements store.SubjectIndex.
func (s *MemoryStore) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ik := memIndexKey{name, audience, subject}
	ish := s.indexShard(ik)
	ish.mu.Lock()
	var out []store.IndexEntry
	if set := ish.entries[ik]; set != nil {
		s.prune(ik, set, s.now(now), &out)
		if len(set) == 0 {
			delete(ish.entries, ik)
		}
	}
	ish.mu.Unlock()
	sortEntries(out)
	return out, nil
}

func sortEntries(entries []store.IndexEntry) {
	slices.SortFunc(entries, func(a, b store.IndexEntry) int {
		if c := a.Expires.Compare(b.Expires); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// Len returns the number of records held, including expired ones not yet
// removed.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.items)
		sh.mu.Unlock()
	}
	return n
}

// Cleanup removes the records, subject index entries and revocation marks
// that have expired at now and returns how many records it removed. The
// cleaner goroutine calls it; call it yourself to clean up on your own
// schedule.
func (s *MemoryStore) Cleanup(now time.Time) int {
	t := s.now(now)
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += sh.dropExpired(t)
		sh.mu.Unlock()
	}
	for i := range s.indexes {
		ish := &s.indexes[i]
		ish.mu.Lock()
		for ik, set := range ish.entries {
			s.prune(ik, set, t, nil)
			if len(set) == 0 {
				delete(ish.entries, ik)
			}
		}
		ish.mu.Unlock()
	}
	s.marks.cleanup(t)
	return n
}

// Stop ends the cleaner goroutine, if any, and waits for it. The store
// stays usable; expired records are then removed only on access. Stop may
// be called more than once. It implements store.Stopper.
func (s *MemoryStore) Stop() {
	s.stopCleaner()
}

// errMemFull is returned when an anonymous record finds the shard full of
// signed-in sessions, which it must not evict.
var errMemFull = newError(ErrStore, "memory store: full of signed-in sessions")

// put stores a record, making room when the shard is full: expired records
// go first, then the least recently used anonymous one; a signed-in record
// may also evict the least recently used signed-in one, an anonymous record
// never. sh.mu is held.
func (sh *memShard) put(k memKey, v []byte, expires, now int64, anonymous bool, g *memGroup) error {
	if it := sh.items[k]; it != nil {
		if it.group != g {
			if it.group != nil {
				sh.groups.leave(it.group, k)
			}
			it.group = g
		}
		it.value, it.expires = v, expires
		heap.Fix(&sh.heap, it.heapIdx)
		if it.anonymous != anonymous {
			it.prev.next, it.next.prev = it.next, it.prev
			it.anonymous = anonymous
			sh.link(it)
		}
		sh.touch(it)
		return nil
	}
	sh.dropExpired(now)
	for len(sh.items) >= sh.capacity {
		switch {
		case sh.anon.prev != &sh.anon:
			sh.remove(sh.anon.prev)
		case !anonymous && sh.root.prev != &sh.root:
			sh.remove(sh.root.prev)
		default:
			return errMemFull
		}
	}
	it := &memItem{k: k, value: v, expires: expires, anonymous: anonymous, group: g}
	sh.items[k] = it
	heap.Push(&sh.heap, it)
	sh.link(it)
	return nil
}

// live returns the record under k unless it is missing or expired at now;
// sh.mu is held.
func (sh *memShard) live(k memKey, now int64) *memItem {
	if it := sh.items[k]; it != nil && it.expires > now {
		return it
	}
	return nil
}

// link puts it at the front of its LRU list; sh.mu is held.
func (sh *memShard) link(it *memItem) {
	root := &sh.root
	if it.anonymous {
		root = &sh.anon
	}
	it.prev, it.next = root, root.next
	it.prev.next, it.next.prev = it, it
}

// dropExpired removes the records expired at now; sh.mu is held.
func (sh *memShard) dropExpired(now int64) int {
	n := 0
	for len(sh.heap) > 0 && sh.heap[0].expires <= now {
		sh.remove(sh.heap[0])
		n++
	}
	return n
}

// touch moves it to the front of its LRU list; sh.mu is held.
func (sh *memShard) touch(it *memItem) {
	if it.prev == &sh.root || it.prev == &sh.anon {
		return
	}
	it.prev.next, it.next.prev = it.next, it.prev
	sh.link(it)
}

// remove drops it from the map, the heap, its LRU list and its group;
// sh.mu is held.
func (sh *memShard) remove(it *memItem) {
	delete(sh.items, it.k)
	heap.Remove(&sh.heap, it.heapIdx)
	it.prev.next, it.next.prev = it.next, it.prev
	it.prev, it.next = nil, nil
	if it.group != nil {
		sh.groups.leave(it.group, it.k)
	}
}

// memHeap is a min-heap of records on expiry.
type memHeap []*memItem

func (h memHeap) Len() int           { return len(h) }
func (h memHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h memHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *memHeap) Push(x any) {
	it := x.(*memItem)
	it.heapIdx = len(*h)
	*h = append(*h, it)
}
func (h *memHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.heapIdx = -1
	return it
}

var (
	_ Store              = (*MemoryStore)(nil)
	_ store.SubjectIndex = (*MemoryStore)(nil)
	_ store.Stopper      = (*MemoryStore)(nil)
)
