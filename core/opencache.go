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

const (
	openCacheShards = 16
	openCacheSpares = 8 // evicted entries kept per shard for reuse
)

// openCache is a bounded map from a cookie's MAC to its plaintext, in
// shards, each evicting its oldest entries first. Evicted entries are kept
// for reuse, so that a full cache takes new entries without allocating.
type openCache struct {
	shards [openCacheShards]openShard
}

type openShard struct {
	mu      sync.Mutex
	m       map[[macSize]byte]*openEntry
	queue   []*openEntry // oldest first
	head    int          // of queue
	bytes   int
	max     int
	spare   []*openEntry
	maxItem int // the largest plaintext kept: a quarter of the shard
}

type openEntry struct {
	key       *keyMaterial
	remember  bool
	raw       [headerSize]byte
	payload   string
	plaintext []byte
	// entries are decoded from plaintext, kept once the cookie is opened a
	// second time (a cookie opened once, as in a chain of updates, would
	// not use them): later opens copy them instead of parsing the JSON.
	// Never changed once set: get hands out deep copies.
	entries []entry
	hits    int
}

func (e *openEntry) size() int {
	n := len(e.payload) + cap(e.plaintext) + 200
	if e.entries != nil {
		n += 2 * len(e.plaintext) // about what the decoded values take
	}
	return n
}

// newOpenCache returns a cache of about maxBytes, or nil for none.
func newOpenCache(maxBytes int) *openCache {
	if maxBytes <= 0 {
		return nil
	}
	c := &openCache{}
	per := max(maxBytes/openCacheShards, 1)
	for i := range c.shards {
		c.shards[i] = openShard{m: map[[macSize]byte]*openEntry{}, max: per, maxItem: per / 4}
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

// get returns, for the cookie with the verified raw header and payload
// opened with key, a deep copy of its decoded entries when the cache has
// them, or else its plaintext appended to dst (a copy: the entry may be
// evicted and its buffer reused once get returns) and whether the cache
// wants the entries decoded from it (keep); ok reports a hit.
func (c *openCache) get(dst []byte, key *keyMaterial, remember bool, raw *[headerSize]byte, payload string) (plaintext []byte, entries []entry, keep, ok bool) {
	if c == nil {
		return dst, nil, false, false
	}
	mac := macOf(raw)
	sh := c.shard(&mac)
	sh.mu.Lock()
	e := sh.m[mac]
	if e == nil || e.key != key || e.remember != remember || e.raw != *raw || e.payload != payload {
		sh.mu.Unlock()
		return dst, nil, false, false
	}
	if kept := e.entries; kept != nil {
		sh.mu.Unlock()
		return dst, cloneEntries(kept), false, true // kept is never changed: copied unlocked
	}
	e.hits++
	plaintext, keep = append(dst, e.plaintext...), e.hits >= 2
	sh.mu.Unlock()
	return plaintext, nil, keep, true
}

// keep stores a deep copy of the entries decoded from the plaintext of the
// cookie (see get's keep), if its entry is still there.
func (c *openCache) keep(key *keyMaterial, remember bool, raw *[headerSize]byte, payload string, entries []entry) {
	if c == nil {
		return
	}
	mac := macOf(raw)
	sh := c.shard(&mac)
	kept := cloneEntries(entries)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[mac]
	if e == nil || e.entries != nil || e.key != key || e.remember != remember || e.raw != *raw || e.payload != payload {
		return
	}
	sh.bytes -= e.size()
	e.entries = kept
	sh.bytes += e.size()
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

// put remembers the plaintext of the cookie with raw header and payload,
// under key. It copies plaintext, into the buffer of an evicted entry when
// it can.
func (c *openCache) put(key *keyMaterial, remember bool, raw *[headerSize]byte, payload string, plaintext []byte) {
	if c == nil {
		return
	}
	mac := macOf(raw)
	sh := c.shard(&mac)
	if len(plaintext)+len(payload) > sh.maxItem {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m[mac] != nil {
		return // the same cookie, opened again: already there
	}
	var e *openEntry
	if n := len(sh.spare); n > 0 {
		e, sh.spare = sh.spare[n-1], sh.spare[:n-1]
	} else {
		e = new(openEntry)
	}
	e.key, e.remember, e.raw, e.payload, e.entries, e.hits = key, remember, *raw, payload, nil, 0
	e.plaintext = append(e.plaintext[:0], plaintext...)
	sh.m[mac] = e
	sh.queue = append(sh.queue, e)
	sh.bytes += e.size()
	for sh.bytes > sh.max && sh.head < len(sh.queue) {
		old := sh.queue[sh.head]
		sh.queue[sh.head] = nil
		sh.head++
		delete(sh.m, macOf(&old.raw))
		sh.bytes -= old.size()
		old.key, old.payload, old.entries, old.hits = nil, "", nil, 0
		if len(sh.spare) < openCacheSpares && cap(old.plaintext) <= sh.maxItem {
			sh.spare = append(sh.spare, old)
		}
	}
	// Compact the queue once its dead front is half of it.
	if sh.head > 0 && sh.head*2 >= len(sh.queue) {
		n := copy(sh.queue, sh.queue[sh.head:])
		clear(sh.queue[n:])
		sh.queue, sh.head = sh.queue[:n], 0
	}
}
