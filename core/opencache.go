package session

import (
	"sync"
)

// The open cache remembers, for the cookies this Manager recently opened or
// issued, the plaintext their payload decrypts (and inflates) to, so that
// the next request with the same cookie skips base64url decoding, the key
// derivation, AES-GCM and inflating. A browser sends the same cookie with
// every request until a save replaces it, and the cookie a save issues is
// the one the next request brings, so most opens of a busy session hit.
//
// A hit needs the same inputs that decrypting takes, byte for byte: the
// same key (and the same cookie kind, whose keys differ for the remember
// cookie), the same raw header (session id, flags, sizes, times, GCM tag),
// already verified with its MAC, and the same payload. AES-GCM with one key,
// nonce, additional data and tag makes one plaintext of one ciphertext, so
// a hit returns exactly what decrypting would, and a cookie whose payload
// or header was changed misses and is decrypted (and rejected) as before.
// The cache is consulted only after the checks that come before decrypting
// (timeouts, MAC, the store's record, which a deleted session no longer
// has), and everything after decrypting (decoding, audience, revocation)
// still runs on every open.
//
// What it keeps is the plaintext of sessions, in this process's memory, for
// as long as they are among the most recent: Config.OpenCacheSize bounds it
// (in bytes) or turns it off.

const openCacheShards = 16

// openCache is a bounded map from a cookie's MAC to its plaintext, in
// shards, each evicting its oldest entries first. A shard copies the
// plaintexts into an arena of its own, a ring of bytes that grows up to the
// shard's size, and keeps its entries in a queue of values: once its arena
// and its queue and map have grown to their working size, caching a cookie
// allocates nothing.
type openCache struct {
	shards [openCacheShards]openShard
}

type openShard struct {
	mu    sync.Mutex
	index map[[macSize]byte]uint64 // MAC → the entry's seq
	queue []openEntry              // live entries from head on, oldest first
	head  int
	first uint64 // the seq of queue[0]
	next  uint64 // the seq of the next entry
	arena []byte // the plaintexts: a ring that grows up to size
	tail  int    // where the next plaintext goes in arena
	size  int    // the most the arena grows to
	bytes int    // held by the live entries' decoded values (kept entries)
}

type openEntry struct {
	seq      uint64
	key      *keyMaterial
	remember bool
	raw      [headerSize]byte
	payload  string
	off, n   int // the plaintext: arena[off:off+n]
	// kept is set once the cookie is opened from the cache a second time
	// (a cookie opened once, as in a chain of updates, would not use it).
	kept *keptOpen
	hits int
}

// keptOpen is what the cache keeps of a cookie opened from it twice, for
// later opens to share: its entries decoded from the plaintext, so that
// they skip parsing the JSON, and the lookup its open makes when
// revocation is on, with the store keys hashed. Never changed once kept:
// sessions copy the entries slice, and the maps before they change them
// (Session.shared); the lookup is used only when an open builds the same
// keys.
type keptOpen struct {
	entries []entry
	rev     revLookup
}

// newOpenCache returns a cache of about maxBytes, or nil for none.
func newOpenCache(maxBytes int) *openCache {
	if maxBytes <= 0 {
		return nil
	}
	c := &openCache{}
	per := max(maxBytes/openCacheShards, 1024)
	for i := range c.shards {
		c.shards[i] = openShard{index: map[[macSize]byte]uint64{}, size: per}
	}
	return c
}

// macOf returns the MAC of a raw header, the cache's key.
func macOf(raw *[headerSize]byte) (m [macSize]byte) {
	copy(m[:], raw[headerMACSize:])
	return m
}

func (c *openCache) shard(mac *[macSize]byte) *openShard {
	return &c.shards[mac[0]%openCacheShards]
}

// macBindFlags are the header flags that bind a cookie's MAC to the request.
const macBindFlags = flagBindIP | flagBindScheme | flagBindUserAgent

// verified returns the key of the cached cookie whose raw header is raw,
// byte for byte, MAC included, and of the same kind (session or remember
// cookie); nil when there is none. Every cached header was verified with
// that key (an open caches a cookie only after its MAC checked) or issued
// with it (a save computes the MAC), and a header's MAC is a function of
// the key and the header alone when the header binds nothing (no
// macBindFlags, which callers check): such a header verifies again, and Open
// skips recomputing its MAC. The lookup only finds an entry for a MAC
// equal in all 16 bytes to a cached one; which cached MACs a forged one is
// compared with depends on the map's per-process hash seed, not on how
// many of its bytes are right. Forged headers never enter the cache.
func (c *openCache) verified(remember bool, raw *[headerSize]byte) *keyMaterial {
	if c == nil {
		return nil
	}
	mac := macOf(raw)
	sh := c.shard(&mac)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	seq, ok := sh.index[mac]
	if !ok {
		return nil
	}
	e := &sh.queue[seq-sh.first]
	if e.remember != remember || e.raw != *raw {
		return nil
	}
	return e.key
}

// entry returns the live entry of mac matching the other inputs, or nil.
func (sh *openShard) entry(mac *[macSize]byte, key *keyMaterial, remember bool, raw *[headerSize]byte, payload string) *openEntry {
	seq, ok := sh.index[*mac]
	if !ok {
		return nil
	}
	e := &sh.queue[seq-sh.first]
	if e.key != key || e.remember != remember || e.raw != *raw || e.payload != payload {
		return nil
	}
	return e
}

// get returns, for the cookie with the verified raw header and payload
// opened with key, what the cache kept of it when it has that (the
// cache's own, never changed: see keptOpen), or else its plaintext
// appended to dst (a copy: the arena is reused once get returns) and
// whether the cache wants the entries decoded from it (keep); ok reports a
// hit.
func (c *openCache) get(dst []byte, key *keyMaterial, remember bool, raw *[headerSize]byte, payload string) (plaintext []byte, kept *keptOpen, keep, ok bool) {
	if c == nil {
		return dst, nil, false, false
	}
	mac := macOf(raw)
	sh := c.shard(&mac)
	sh.mu.Lock()
	e := sh.entry(&mac, key, remember, raw, payload)
	if e == nil {
		sh.mu.Unlock()
		return dst, nil, false, false
	}
	if kept := e.kept; kept != nil {
		sh.mu.Unlock()
		return dst, kept, false, true // kept is never changed: shared unlocked
	}
	e.hits++
	plaintext, keep = append(dst, sh.arena[e.off:e.off+e.n]...), e.hits >= 2
	sh.mu.Unlock()
	return plaintext, nil, keep, true
}

// keep stores a deep copy of the entries decoded from the plaintext of the
// cookie (see get's keep), and of its revocation lookup with the store
// keys hashed (when rev has keys), if its entry is still there.
func (c *openCache) keep(key *keyMaterial, remember bool, raw *[headerSize]byte, payload string, entries []entry, rev revLookup) {
	if c == nil {
		return
	}
	mac := macOf(raw)
	sh := c.shard(&mac)
	kept := &keptOpen{entries: cloneEntries(entries)}
	if rev.keys != nil {
		kept.rev = rev.hashedCopy()
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.entry(&mac, key, remember, raw, payload)
	if e == nil || e.kept != nil || sh.bytes+2*e.n > sh.size {
		return
	}
	e.kept = kept
	sh.bytes += 2 * e.n // about what the decoded values take
}

// put remembers the plaintext of the cookie with raw header and payload,
// under key, copying it into the shard's arena; plaintexts larger than a
// quarter of a shard are not kept.
func (c *openCache) put(key *keyMaterial, remember bool, raw *[headerSize]byte, payload string, plaintext []byte) {
	if c == nil {
		return
	}
	mac := macOf(raw)
	sh := c.shard(&mac)
	n := len(plaintext)
	if n > sh.size/4 {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.index[mac]; ok {
		return // the same cookie, opened again: already there
	}
	off := sh.reserve(n)
	copy(sh.arena[off:], plaintext)
	if sh.head > 0 && sh.head*2 >= len(sh.queue) {
		// Compact the queue once its dead front is half of it.
		k := copy(sh.queue, sh.queue[sh.head:])
		clear(sh.queue[k:])
		sh.queue, sh.first, sh.head = sh.queue[:k], sh.first+uint64(sh.head), 0
	}
	seq := sh.next
	sh.next++
	if len(sh.queue) == 0 {
		sh.first = seq
	}
	sh.queue = append(sh.queue, openEntry{seq: seq, key: key, remember: remember, raw: *raw, payload: payload, off: off, n: n})
	sh.index[mac] = seq
	sh.tail = off + n
}

// reserve makes n bytes free at the arena's tail, or at its start (the
// ring wraps), and returns where they are: it grows the arena up to the
// shard's size first (a Manager that caches a few sessions holds a few
// kilobytes), then evicts the oldest entries.
func (sh *openShard) reserve(n int) int {
	for {
		if sh.head == len(sh.queue) { // empty
			if len(sh.arena) < n {
				sh.arena = make([]byte, min(sh.size, max(2*len(sh.arena), 2*n, 4096)))
			}
			return 0
		}
		size := len(sh.arena)
		start := sh.queue[sh.head].off // the oldest live plaintext
		switch {
		case start < sh.tail: // live bytes are [start, tail)
			if sh.tail+n <= size {
				return sh.tail
			}
			if n <= start {
				return 0
			}
		case sh.tail+n <= start: // live bytes are [start, size) and [0, tail)
			return sh.tail
		}
		if !sh.grow(n) {
			sh.evict()
		}
	}
}

// grow moves the live plaintexts, oldest first, to the start of an arena
// twice as large (at most the shard's size, at least room for n more), and
// reports whether it could.
func (sh *openShard) grow(n int) bool {
	if len(sh.arena) >= sh.size {
		return false
	}
	used := 0
	for _, e := range sh.queue[sh.head:] {
		used += e.n
	}
	arena := make([]byte, min(sh.size, max(2*len(sh.arena), used+2*n, 4096)))
	off := 0
	for i := sh.head; i < len(sh.queue); i++ {
		e := &sh.queue[i]
		copy(arena[off:], sh.arena[e.off:e.off+e.n])
		e.off = off
		off += e.n
	}
	sh.arena, sh.tail = arena, off
	return true
}

// evict drops the oldest entry.
func (sh *openShard) evict() {
	e := &sh.queue[sh.head]
	delete(sh.index, macOf(&e.raw))
	if e.kept != nil {
		sh.bytes -= 2 * e.n
	}
	*e = openEntry{}
	sh.head++
}

// cloneEntries returns a deep copy of entries: new maps and slices, the
// same strings and numbers (which nothing changes).
func cloneEntries(entries []entry) []entry {
	out := make([]entry, len(entries), len(entries)+1) // open may add the current audience
	for i, e := range entries {
		out[i] = e
		out[i].data = cloneValue(e.data).(map[string]any)
		if e.keys != nil {
			out[i].keys = append([]string(nil), e.keys...)
		}
	}
	return out
}

// cloneValue deep-copies a value as decodeEntries makes them: maps and
// slices are copied, strings, numbers, booleans and nil are immutable.
func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = cloneValue(e)
		}
		return s
	}
	return v
}
