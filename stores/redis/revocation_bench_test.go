package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// BenchmarkRevoked compares, in one run, the lookup that opening a cookie
// session with Redis as the revocation backend makes on a cache miss (the
// session id's mark, the subject's and one application key's: three keys,
// one of them marked) with the GET of one session record that opening a
// session kept in Redis makes. On a single server both are one round trip.
//
//	go test -run '^$' -bench Revoked -count 5
func BenchmarkRevoked(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s, c := newStore(b, m)
			rt := countRoundTrips(c)
			ctx := context.Background()
			k := key(b)
			if err := s.Set(ctx, "session", k, make([]byte, 200), store.SetOptions{TTL: time.Hour}); err != nil {
				b.Fatal(err)
			}
			keys := []string{markKey("sid"), markKey("sub"), markKey("key")}
			if err := s.Revoke(ctx, []store.Mark{{Key: keys[1], At: time.Now().Add(-time.Hour), TTL: time.Hour}}, time.Now()); err != nil {
				b.Fatal(err)
			}
			b.Run("GetRecord", func(b *testing.B) {
				b.ReportAllocs()
				rt.n.Store(0)
				for b.Loop() {
					if _, err := s.Get(ctx, "session", k, store.GetOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				report(b, rt)
			})
			b.Run("Revoked3", func(b *testing.B) {
				b.ReportAllocs()
				rt.n.Store(0)
				for b.Loop() {
					if _, err := s.Revoked(ctx, keys, time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
				report(b, rt)
			})
		})
	}
}
