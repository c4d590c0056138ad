package redisstore_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// Benchmarks against the real servers, each reporting rt/op: the exchanges
// with a server per operation (in a cluster, with each node written to).
// BenchmarkBaseline is a plain GET and SET, the floor the others compare
// with; BenchmarkReferenceSave replays what lua-resty-session's redis
// storage sends for the same save (a TTL, then a pipeline).
//
//	go test -run '^$' -bench . -benchtime 2000x

func benchModes(b *testing.B, fn func(b *testing.B, m mode, c redis.UniversalClient, s *redisstore.Store, rt *roundTrips)) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s, c := newStore(b, m)
			rt := countRoundTrips(c)
			b.ReportAllocs()
			fn(b, m, c, s, rt)
		})
	}
}

func report(b *testing.B, rt *roundTrips) {
	b.ReportMetric(float64(rt.n.Load())/float64(b.N), "rt/op")
}

// benchLogin returns an app on s and the cookie of a saved session.
func benchLogin(b *testing.B, s session.Store) (*app, context.Context, *http.Cookie) {
	a, ctx := newApp(b, s), context.Background()
	cookie, err := a.login(ctx, "alice")
	if err != nil {
		b.Fatalf("login: %v", err)
	}
	return a, ctx, cookie
}

// benchKeys returns storage keys for a benchmark's saves to rotate through.
func benchKeys(b *testing.B) []string {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = key(b)
	}
	return keys
}

var benchMD = &store.Metadata{Audiences: []string{"ZGVmYXVsdA"}, Subjects: []string{"YWxpY2U"}}

func BenchmarkBaseline(b *testing.B) {
	value := make([]byte, 200)
	b.Run("GET", func(b *testing.B) {
		benchModes(b, func(b *testing.B, m mode, c redis.UniversalClient, s *redisstore.Store, rt *roundTrips) {
			ctx := context.Background()
			k := s.Key("session", key(b))
			c.Set(ctx, k, value, time.Minute)
			rt.n.Store(0)
			b.ResetTimer()
			for b.Loop() {
				if err := c.Get(ctx, k).Err(); err != nil {
					b.Fatal(err)
				}
			}
			report(b, rt)
		})
	})
	b.Run("SET", func(b *testing.B) {
		benchModes(b, func(b *testing.B, m mode, c redis.UniversalClient, s *redisstore.Store, rt *roundTrips) {
			ctx := context.Background()
			k := s.Key("session", key(b))
			rt.n.Store(0)
			b.ResetTimer()
			for b.Loop() {
				if err := c.Set(ctx, k, value, time.Minute).Err(); err != nil {
					b.Fatal(err)
				}
			}
			report(b, rt)
		})
	})
}

func BenchmarkStoreGet(b *testing.B) {
	benchModes(b, func(b *testing.B, m mode, c redis.UniversalClient, s *redisstore.Store, rt *roundTrips) {
		ctx := context.Background()
		k := key(b)
		if err := s.Set(ctx, "session", k, make([]byte, 200), store.SetOptions{TTL: time.Minute}); err != nil {
			b.Fatal(err)
		}
		rt.n.Store(0)
		b.ResetTimer()
		for b.Loop() {
			if _, err := s.Get(ctx, "session", k, store.GetOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, rt)
	})
}

// BenchmarkStoreSet is a save as core makes it after the first: a new key
// in the group of the old one, the old one made stale, the subject index
// updated.
func BenchmarkStoreSet(b *testing.B) {
	benchModes(b, func(b *testing.B, m mode, c redis.UniversalClient, s *redisstore.Store, rt *roundTrips) {
		ctx := context.Background()
		value := make([]byte, 200)
		keys := benchKeys(b)
		now := time.Now()
		// the record the first save replaces (a save from a missing record
		// stores nothing)
		if err := s.Set(ctx, "session", keys[0], value, store.SetOptions{TTL: time.Minute, Now: now, Metadata: benchMD}); err != nil {
			b.Fatal(err)
		}
		rt.n.Store(0)
		b.ResetTimer()
		i := 0
		for b.Loop() {
			err := s.Set(ctx, "session", keys[(i+1)%len(keys)], value, store.SetOptions{
				TTL: time.Minute, Now: now, OldKey: keys[i%len(keys)], StaleTTL: 10 * time.Second, Metadata: benchMD,
			})
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
		report(b, rt)
	})
}

// BenchmarkReferenceSave sends what lua-resty-session 4.1.5's redis storage
// sends for the same save: TTL of the old key, then one pipeline (SET,
// EXPIRE, ZREMRANGEBYSCORE, ZADD, ZREM, EXPIRE). Single server and Sentinel
// only: the reference's cluster storage sends the same commands one slot at
// a time.
func BenchmarkReferenceSave(b *testing.B) {
	benchModes(b, func(b *testing.B, m mode, c redis.UniversalClient, s *redisstore.Store, rt *roundTrips) {
		if m.name == "cluster" {
			b.Skip("the pipeline spans slots")
		}
		ctx := context.Background()
		value := make([]byte, 200)
		keys := benchKeys(b)
		meta := s.IndexKey("session", benchMD.Audiences[0], benchMD.Subjects[0])
		rt.n.Store(0)
		b.ResetTimer()
		i := 0
		for b.Loop() {
			now := time.Now().Unix()
			k, old := keys[(i+1)%len(keys)], keys[i%len(keys)]
			oldName := s.Key("session", old)
			ttl := c.TTL(ctx, oldName).Val()
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, s.Key("session", k), value, time.Minute)
				if ttl > 10*time.Second || ttl < 0 {
					p.Expire(ctx, oldName, 10*time.Second)
				}
				p.ZRemRangeByScore(ctx, meta, "0", strconv.FormatInt(now-1, 10))
				p.ZAdd(ctx, meta, redis.Z{Score: float64(now + 60), Member: k})
				p.ZRem(ctx, meta, old)
				p.Expire(ctx, meta, time.Minute)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
		report(b, rt)
	})
}

// BenchmarkOpenRead opens a session through core and net/http and reads
// it: one GET.
func BenchmarkOpenRead(b *testing.B) {
	benchModes(b, func(b *testing.B, m mode, c redis.UniversalClient, s *redisstore.Store, rt *roundTrips) {
		a, ctx, cookie := benchLogin(b, s)
		rt.n.Store(0)
		b.ResetTimer()
		for b.Loop() {
			if _, err := a.read(ctx, cookie); err != nil {
				b.Fatalf("read: %v", err)
			}
		}
		report(b, rt)
	})
}

// BenchmarkOpenModifySave opens a session, changes it and saves it: one
// GET and one save (new record, old record stale, subject index).
func BenchmarkOpenModifySave(b *testing.B) {
	benchModes(b, func(b *testing.B, m mode, c redis.UniversalClient, s *redisstore.Store, rt *roundTrips) {
		a, ctx, cookie := benchLogin(b, s)
		rt.n.Store(0)
		b.ResetTimer()
		for b.Loop() {
			var err error
			if cookie, err = a.modify(ctx, cookie); err != nil {
				b.Fatalf("modify: %v", err)
			}
		}
		report(b, rt)
	})
}
