package session_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// Sessions over the memory store, next to BenchmarkOpenRead and
// BenchmarkOpenModifySave (cookie storage) in bench_test.go: the same
// handler, the same data, the record in a MemoryStore instead of the
// cookie.

func BenchmarkStoreOpenRead(b *testing.B) {
	benchOpenRead(b, session.Config{Store: benchMemoryStore(b)}, smallData)
}

func BenchmarkStoreOpenRead2KB(b *testing.B) {
	benchOpenRead(b, session.Config{Store: benchMemoryStore(b)}, data2KB)
}

// Every iteration replays the same cookie, whose record each save marks as
// stale: a stale TTL longer than any run keeps it readable.
const benchStaleTTL = time.Hour

func BenchmarkStoreOpenModifySave(b *testing.B) {
	benchOpenModifySave(b, session.Config{Store: benchMemoryStore(b), StaleTTL: benchStaleTTL}, smallData)
}

func BenchmarkStoreOpenModifySave2KB(b *testing.B) {
	benchOpenModifySave(b, session.Config{Store: benchMemoryStore(b), StaleTTL: benchStaleTTL}, data2KB)
}

// The stores alone: Set and Get of a 200-byte record (the size of a small
// session's record) under 43-character keys.

var benchRecord = []byte(`["` + benchNoise(196) + `"]`)[:200]

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%043d", i)
	}
	return keys
}

func benchStoreSet(b *testing.B, st session.Store) {
	ctx := context.Background()
	keys := benchKeys(1024)
	opts := store.SetOptions{TTL: time.Hour, Now: time.Now()}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := st.Set(ctx, "session", keys[i%len(keys)], benchRecord, opts); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchStoreGet(b *testing.B, st session.Store) {
	ctx := context.Background()
	keys := benchKeys(1024)
	now := time.Now()
	for _, k := range keys {
		if err := st.Set(ctx, "session", k, benchRecord, store.SetOptions{TTL: time.Hour, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.Get(ctx, "session", keys[i%len(keys)], store.GetOptions{Now: now}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchFileStore(b *testing.B) session.Store {
	st, err := session.NewFileStore(filepath.Join(b.TempDir(), "sessions"))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func benchMemoryStore(b *testing.B) *session.MemoryStore {
	st, err := session.NewMemoryStore()
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func BenchmarkMemoryStoreSet(b *testing.B) { benchStoreSet(b, benchMemoryStore(b)) }
func BenchmarkMemoryStoreGet(b *testing.B) { benchStoreGet(b, benchMemoryStore(b)) }
func BenchmarkFileStoreSet(b *testing.B)   { benchStoreSet(b, benchFileStore(b)) }
func BenchmarkFileStoreGet(b *testing.B)   { benchStoreGet(b, benchFileStore(b)) }

// BenchmarkMemoryStoreParallel mixes Get and Set (4:1) from every
// goroutine, the load the shards are for.
func BenchmarkMemoryStoreParallel(b *testing.B) {
	st := benchMemoryStore(b)
	ctx := context.Background()
	keys := benchKeys(4096)
	now := time.Now()
	for _, k := range keys {
		st.Set(ctx, "session", k, benchRecord, store.SetOptions{TTL: time.Hour, Now: now})
	}
	var seed atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(1)) * 7919
		for pb.Next() {
			k := keys[i%len(keys)]
			if i%5 == 0 {
				st.Set(ctx, "session", k, benchRecord, store.SetOptions{TTL: time.Hour, Now: now})
			} else if _, err := st.Get(ctx, "session", k, store.GetOptions{Now: now}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
