package sqlstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// BenchmarkSave measures the saves of core on each database, without
// net/http: a login (a new session of one of 1,000 users, with its index
// row and group info), an update (a signed-in session rotated: the
// previous record shortened, the new one written, indexed and its group
// info moved) and a login under MaxSessionsPerSubject 3.
func BenchmarkSave(b *testing.B) {
	for _, database := range databases {
		b.Run(database.name, func(b *testing.B) {
			db := database.open(b)
			for _, bench := range []struct {
				name  string
				limit int
				login bool
			}{
				{"login", 0, true},
				{"update", 0, false},
				{"login-capped", 3, true},
			} {
				b.Run(bench.name, func(b *testing.B) {
					s, _ := newStore(b, db, database.dialect, sqlstore.WithCleanupProbability(0))
					m, err := session.New(session.Config{
						Secret: "sqlstore save benchmark secret", Store: s, StoreMetadata: true,
						MaxSessionsPerSubject: bench.limit,
					})
					if err != nil {
						b.Fatal(err)
					}
					save := func(cookies []*http.Cookie, user string) []*http.Cookie {
						w := httptest.NewRecorder()
						r := httptest.NewRequest(http.MethodPost, "http://example.test/", nil)
						for _, c := range cookies {
							r.AddCookie(c)
						}
						sess := m.NewSession(adapter.NewHTTP(w, r))
						if len(cookies) > 0 {
							if err := sess.Open(); err != nil {
								b.Fatal(err)
							}
						} else {
							sess.SetSubject(user)
						}
						sess.Set("n", user)
						if err := sess.Save(); err != nil {
							b.Fatal(err)
						}
						return w.Result().Cookies()
					}
					cookies := save(nil, "alice")
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						user := "user-" + strconv.Itoa(i%1000)
						if bench.login {
							save(nil, user)
						} else {
							cookies = save(cookies, user)
						}
						i++
					}
				})
			}
		})
	}
}

// BenchmarkSetSeen measures what the group info costs a save, in one
// run: the store's Set of a login (with its index row) or of an update (a
// rotation, with its index row), in turns without SetOptions.Seen
// ("plain"), with Seen and facts ("seen": the group info upsert in the
// same transaction) and, on PostgreSQL, with Seen and facts written by a
// statement of their own rather than in the upsert's WITH query
// ("separate"). Each is timed apart and all meet the same load; it reports
// the time of each per Set and the ratios to plain.
func BenchmarkSetSeen(b *testing.B) {
	for _, database := range databases {
		b.Run(database.name, func(b *testing.B) {
			db := database.open(b)
			for _, kind := range []string{"login", "update"} {
				b.Run(kind, func(b *testing.B) {
					ctx := context.Background()
					value := []byte(strings.Repeat("v", 200))
					variants := []string{"plain", "seen"}
					if database.dialect == sqlstore.Postgres {
						variants = append(variants, "separate")
					}
					stores := map[string]*sqlstore.Store{}
					for _, v := range variants {
						stores[v], _ = newStore(b, db, database.dialect, sqlstore.WithCleanupProbability(0))
					}
					if s := stores["separate"]; s != nil {
						sqlstore.SeparateInfo(s)
					}
					old := map[string]string{}
					spent := map[string]time.Duration{}
					i := 0
					b.ReportAllocs()
					for b.Loop() {
						for j := range variants {
							v := variants[(i+j)%len(variants)] // each goes first in turn
							key := benchKey()
							opts := store.SetOptions{TTL: time.Hour, Now: t0, StaleTTL: 10 * time.Second,
								Metadata: &store.Metadata{Audiences: []string{"aud"}, Subjects: []string{"user-" + strconv.Itoa(i%1000)}}}
							if kind == "update" {
								opts.OldKey = old[v]
							}
							if v != "plain" {
								opts.Seen, opts.Facts = t0, []byte(`{"ua":"Mozilla/5.0"}`)
							}
							start := time.Now()
							if err := stores[v].Set(ctx, "session", key, value, opts); err != nil {
								b.Fatal(err)
							}
							spent[v] += time.Since(start)
							if kind == "update" {
								old[v] = key
							}
						}
						i++
					}
					for _, v := range variants {
						b.ReportMetric(float64(spent[v].Nanoseconds())/float64(i), v+"-ns/set")
						if v != "plain" {
							b.ReportMetric(float64(spent[v])/float64(spent["plain"]), v+"/plain")
						}
					}
				})
			}
		})
	}
}
