package session

import (
	"sync"
	"sync/atomic"
)

// rememberKeyCacheSize bounds the cache of derived remember cookie keys.
const rememberKeyCacheSize = 1024

// keyCache is a bounded cache of the PBKDF2 keys of remember cookies, safe
// for concurrent use. Restoring a session from a remember cookie costs a
// PBKDF2 derivation (10 ms at the default RememberSafety, about a second at
// "Very High"), so a client replaying its own remember cookie could make the
// server spend that on every request; with the cache, the replayed cookie's
// key is derived once. Entries are only added for a session id whose header
// MAC was verified (Open) or that was just generated (a save), so forged
// cookies cannot fill it. Eviction is CLOCK (second chance): an entry used
// since the hand last passed stays.
type keyCache struct {
	mu    sync.Mutex
	size  int
	index map[keyCacheKey]int
	slots []keyCacheSlot
	hand  int

	derivations atomic.Int64 // PBKDF2 runs, for tests
}

// keyCacheKey identifies a derived key: the initial keying material, the
// session id and the PBKDF2 iterations.
type keyCacheKey struct {
	k          *keyMaterial
	sid        [sidSize]byte
	iterations int
}

type keyCacheSlot struct {
	key   keyCacheKey
	keyIV [keyIVSize]byte
	ref   bool // used since the hand last passed
}

func newKeyCache(size int) *keyCache {
	return &keyCache{size: size, index: make(map[keyCacheKey]int)}
}

// get returns the cached key of k, marking it used.
func (c *keyCache) get(k keyCacheKey) ([keyIVSize]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[k]
	if !ok {
		return [keyIVSize]byte{}, false
	}
	c.slots[i].ref = true
	return c.slots[i].keyIV, true
}

// put adds the key of k, evicting the first entry the hand finds unused
// when the cache is full.
func (c *keyCache) put(k keyCacheKey, keyIV [keyIVSize]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.index[k]; ok {
		c.slots[i].keyIV, c.slots[i].ref = keyIV, true
		return
	}
	if len(c.slots) < c.size {
		c.index[k] = len(c.slots)
		c.slots = append(c.slots, keyCacheSlot{key: k, keyIV: keyIV})
		return
	}
	for c.slots[c.hand].ref {
		c.slots[c.hand].ref = false
		c.hand = (c.hand + 1) % len(c.slots)
	}
	delete(c.index, c.slots[c.hand].key)
	c.slots[c.hand] = keyCacheSlot{key: k, keyIV: keyIV}
	c.index[k] = c.hand
	c.hand = (c.hand + 1) % len(c.slots)
}
