package session

import (
	"testing"
	"time"
)

// BenchmarkRevocationKeys measures what the cache spares a hit: hashing the
// three keys of an open (session id, subject, one revocation key) into
// backend keys, against looking the same three up in the cache.
func BenchmarkRevocationKeys(b *testing.B) {
	keys := []revKey{
		{kind: kindSID, sid: [sidSize]byte{1, 2, 3}},
		{kind: kindSub, a: DefaultAudience, b: "alice"},
		{kind: kindKey, a: "sid:https://idp.example#8f2c"},
	}
	b.Run("hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range keys {
				_ = keys[i].storeKey()
			}
		}
	})
	b.Run("cache_hit", func(b *testing.B) {
		c := newRevocationCache(DefaultRevocationCacheSize, time.Hour, 0)
		now := time.Unix(1_700_000_000, 0)
		c.putAnswers(keys, []int{0, 1, 2}, make([]time.Time, 3), now)
		var missBuf [8]int
		b.ReportAllocs()
		for b.Loop() {
			miss, revoked, err := c.lookup(keys, 1, now, missBuf[:0])
			if revoked || err != nil || len(miss) != 0 {
				b.Fatal("not a hit")
			}
		}
	})
}
