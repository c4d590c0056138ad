package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// The request benchmarks run a whole request through core and net/http on
// each database, beside two baselines measured in the same run: cookie
// storage (no store) and core's memory store.
func BenchmarkOpenRead(b *testing.B)       { benchRequests(b, "/read", false) }
func BenchmarkOpenModifySave(b *testing.B) { benchRequests(b, "/count", true) }

func benchRequests(b *testing.B, path string, rotate bool) {
	backends := []struct {
		name  string
		store func(b *testing.B) session.Store
	}{
		{"cookie", func(*testing.B) session.Store { return nil }},
		{"memory", func(b *testing.B) session.Store {
			st, err := session.NewMemoryStore()
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, database := range databases {
		backends = append(backends, struct {
			name  string
			store func(b *testing.B) session.Store
		}{database.name, func(b *testing.B) session.Store {
			s, _ := newStore(b, database.open(b), database.dialect, sqlstore.WithCleanupProbability(0))
			return s
		}})
	}
	for _, backend := range backends {
		b.Run(backend.name, func(b *testing.B) {
			a := newApp(b, backend.store(b))
			code, _, cookie := a.do(b, "/login?user=alice", "")
			if code != http.StatusOK {
				b.Fatalf("login: %d", code)
			}
			b.ReportAllocs()
			for b.Loop() {
				code, _, next := a.do(b, path, cookie)
				if code != http.StatusOK {
					b.Fatalf("%s: %d", path, code)
				}
				if rotate {
					cookie = next
				}
			}
		})
	}
}

// benchSizes are the table sizes of BenchmarkTableSize:
// SESSIONGO_BENCH_ROWS (comma-separated) or 1k, 100k and 1M.
func benchSizes(b *testing.B) []int {
	spec := env("SESSIONGO_BENCH_ROWS", "1000,100000,1000000")
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("SESSIONGO_BENCH_ROWS=%q: %q is not a row count", spec, f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// BenchmarkTableSize measures a save (upsert, stale update of the previous
// key, index rows, one transaction) and a read as the sessions table grows:
// with indexes they cost about the same at 1k and 1M rows.
func BenchmarkTableSize(b *testing.B) {
	sizes := benchSizes(b)
	for _, database := range databases {
		b.Run(database.name, func(b *testing.B) {
			db := database.open(b)
			for _, n := range sizes {
				b.Run("rows="+strconv.Itoa(n), func(b *testing.B) {
					if n >= 1_000_000 && database.name == "sqlite-memory" && os.Getenv("SESSIONGO_BENCH_ALL") == "" {
						b.Skip("1M rows in memory: set SESSIONGO_BENCH_ALL=1")
					}
					s, table := newStore(b, db, database.dialect, sqlstore.WithCleanupProbability(0))
					fill(b, db, database.dialect, table, n, t0)
					ctx := context.Background()
					value := make([]byte, 200)
					for i := range value {
						value[i] = 'v'
					}
					b.Run("save", func(b *testing.B) {
						b.ReportAllocs()
						old := "fill-1"
						i := 0
						for b.Loop() {
							key := benchKey()
							md := &store.Metadata{Audiences: []string{"aud"}, Subjects: []string{"bench-user-" + strconv.Itoa(i%1000)}}
							err := s.Set(ctx, "session", key, value, store.SetOptions{
								TTL: time.Hour, Now: t0, OldKey: old, StaleTTL: 10 * time.Second, Metadata: md,
							})
							if err != nil {
								b.Fatal(err)
							}
							old = key
							i++
						}
					})
					b.Run("get", func(b *testing.B) {
						b.ReportAllocs()
						i := 0
						for b.Loop() {
							key := "fill-" + strconv.Itoa(1+i%n)
							if _, err := s.Get(ctx, "session", key, store.GetOptions{Now: t0}); err != nil {
								b.Fatal(err)
							}
							i++
						}
					})
				})
			}
		})
	}
}

func benchKey() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
