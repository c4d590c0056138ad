package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// login saves the session record of a capped login at t0 + ttl.
func login(s *sqlstore.Store, key string, ttl time.Duration, md *store.Metadata, limit int, refuse bool) error {
	return trySet(s, "session", key, "v", store.SetOptions{TTL: ttl, Metadata: md, Seen: t0, Limit: limit, LimitRefuse: refuse})
}

// TestLimit checks the cap of a login's save on every database: what it
// counts (browser sessions under the cookie name, live, of the pair), what
// it ends (the groups that expire soonest, whole) and that a refusal
// stores nothing.
func TestLimit(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		ctx := context.Background()
		t.Run("ends the soonest groups", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := subject("alice")
			if err := login(s, "a", time.Hour, md, 2, false); err != nil {
				t.Fatal(err)
			}
			set(t, s, "remember", "ra", "v", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "a"}, Metadata: md, Seen: t0})
			// The remember record is not counted: b ends nothing.
			if err := login(s, "b", 3*time.Hour, md, 2, false); err != nil {
				t.Fatal(err)
			}
			wantGet(t, s, "session", "a", t0, "v")
			// A rotation leaves the replaced record listed for its stale
			// TTL: a's browser still counts once.
			set(t, s, "session", "a2", "v", store.SetOptions{TTL: 2 * time.Hour, OldKey: "a", StaleTTL: time.Minute, Metadata: md, Seen: t0})
			if err := login(s, "c", 4*time.Hour, md, 3, false); err != nil {
				t.Fatal(err)
			}
			if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"a", "a2", "b", "c"}) {
				t.Fatalf("Sessions after a login under a cap of 3 = %v; want every record (two browsers before it)", got)
			}
			// Another subject's sessions are not counted.
			if err := login(s, "x", time.Hour, subject("bob"), 1, false); err != nil {
				t.Fatal(err)
			}
			// Cap 2: a's browser (expiring at 2h) ends, b's (3h) stays.
			if err := login(s, "d", 5*time.Hour, md, 2, false); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"a", "a2"} {
				wantGet(t, s, "session", k, t0, "")
			}
			wantGet(t, s, "remember", "ra", t0, "")
			for _, k := range []string{"c", "d", "x"} {
				wantGet(t, s, "session", k, t0, "v")
			}
			wantGet(t, s, "session", "b", t0, "")
			if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"c", "d"}) {
				t.Fatalf("Sessions = %v; want c and d", got)
			}
			if n := countRows(t, db, table+"_groups"); n != 3 {
				t.Fatalf("%d group info rows; want 3 (c, d, x): the ended groups' went with them", n)
			}
			if n := countRows(t, db, table+"_limits"); n != 2 {
				t.Fatalf("%d lock rows; want 2 (alice, bob)", n)
			}
			// Cleanup deletes the lock rows once the logins they last
			// locked for have expired.
			if _, err := s.Cleanup(ctx, t0.Add(90*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if n := countRows(t, db, table+"_limits"); n != 1 {
				t.Fatalf("%d lock rows after bob's expired; want alice's", n)
			}
		})
		t.Run("expired records are not counted", func(t *testing.T) {
			s, _ := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := subject("alice")
			if err := login(s, "a", time.Second, md, 1, true); err != nil {
				t.Fatal(err)
			}
			later := t0.Add(2 * time.Second)
			err := s.Set(ctx, "session", "b", []byte("v"), store.SetOptions{TTL: time.Hour, Now: later, Metadata: md, Limit: 1, LimitRefuse: true})
			if err != nil {
				t.Fatalf("a login with a cap of 1 after the other session expired: %v", err)
			}
		})
		t.Run("refuse stores nothing", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := subject("alice")
			for _, k := range []string{"a", "b"} {
				if err := login(s, k, time.Hour, md, 2, true); err != nil {
					t.Fatal(err)
				}
			}
			err := login(s, "c", time.Hour, md, 2, true)
			if !errors.Is(err, store.ErrSessionLimit) || !errors.Is(err, session.ErrSessionLimit) {
				t.Fatalf("a third login with a cap of 2 = %v; want an error matching ErrSessionLimit", err)
			}
			wantGet(t, s, "session", "c", t0, "")
			if n, m, g := countRows(t, db, table), countRows(t, db, table+"_meta"), countRows(t, db, table+"_groups"); n != 2 || m != 2 || g != 2 {
				t.Fatalf("%d records, %d index rows, %d group info rows after a refused login; want 2 of each", n, m, g)
			}
			if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("Sessions = %v; want a and b", got)
			}
		})
		t.Run("a cap that is not a login's", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "old", "v", store.SetOptions{})
			two := &store.Metadata{Audiences: []string{"a1", "a2"}, Subjects: []string{"alice", "alice"}}
			for name, opts := range map[string]store.SetOptions{
				"no metadata": {Limit: 1},
				"two pairs":   {Limit: 1, Metadata: two},
				"old key":     {Limit: 1, Metadata: subject("alice"), OldKey: "old", StaleTTL: time.Second},
				"partner":     {Limit: 1, Metadata: subject("alice"), Partner: store.RecordKey{Name: "session", Key: "old"}},
			} {
				err := trySet(s, "session", "new", "v", opts)
				if err == nil || errors.Is(err, store.ErrSessionLimit) {
					t.Errorf("%s: Set with Limit = %v; want an error that is not ErrSessionLimit", name, err)
				}
			}
			wantGet(t, s, "session", "new", t0, "")
		})
		t.Run("a store that never capped leaves the lock table alone", func(t *testing.T) {
			s, table := newStore(t, db, d)
			if _, err := db.Exec("DROP TABLE " + table + "_limits"); err != nil {
				t.Fatal(err)
			}
			set(t, s, "session", "a", "v", store.SetOptions{Metadata: subject("alice"), Seen: t0})
			if _, err := s.Cleanup(ctx, t0); err != nil {
				t.Fatalf("Cleanup without the lock table: %v", err)
			}
		})
	})
}

// TestLimitConcurrentLogins logs one user in from 40 browsers at once with
// a cap of 3, through core, on every database: the cap is one transaction
// that takes the subject's lock row first, so exactly 3 sessions are left,
// ending the oldest (every other login's cookies no longer open), or
// exactly 3 logins succeed, refusing the others with ErrSessionLimit.
func TestLimitConcurrentLogins(t *testing.T) {
	const limit, logins = 3, 40
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		if d != sqlstore.SQLite {
			db.SetMaxOpenConns(20) // the servers are shared
		}
		for _, refuse := range []bool{false, true} {
			t.Run(map[bool]string{false: "end oldest", true: "refuse"}[refuse], func(t *testing.T) {
				s, _ := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
				var retries atomic.Int64
				sqlstore.SetRetryHook(s, func(error) { retries.Add(1) })
				defer func() { t.Logf("%d statements or transactions run again", retries.Load()) }()
				m, err := session.New(session.Config{
					Secret: "sqlstore limit test secret", Store: s, StoreMetadata: true,
					Remember: true, RememberSafety: "None", Clock: func() time.Time { return t0 },
					MaxSessionsPerSubject: limit, RefuseOverLimit: refuse,
					// A login ended by a concurrent one before its remember
					// record was written logs a warning.
					Logger: slog.New(slog.DiscardHandler),
				})
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make([]error, logins)
				jars := make([][]*http.Cookie, logins)
				for i := range logins {
					wg.Add(1)
					go func() {
						defer wg.Done()
						w := httptest.NewRecorder()
						r := httptest.NewRequest(http.MethodPost, "http://example.test/login", nil)
						sess := m.NewSession(adapter.NewHTTP(w, r))
						sess.SetSubject("alice")
						errs[i] = sess.Save()
						jars[i] = w.Result().Cookies()
					}()
				}
				wg.Wait()
				var saved []int
				for i, err := range errs {
					switch {
					case err == nil:
						saved = append(saved, i)
					case refuse && errors.Is(err, session.ErrSessionLimit):
					default:
						t.Fatalf("login %d: %v", i, err)
					}
				}
				if refuse && len(saved) != limit {
					t.Fatalf("%d logins succeeded; want exactly %d", len(saved), limit)
				}
				open := 0
				for _, i := range saved {
					r := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
					for _, c := range jars[i] {
						r.AddCookie(c)
					}
					err := m.NewSession(adapter.NewHTTP(httptest.NewRecorder(), r)).Open()
					switch {
					case err == nil:
						open++
					case !errors.Is(err, session.ErrNotFound):
						t.Fatalf("opening login %d: %v; want a session or ErrNotFound", i, err)
					}
				}
				if open != limit {
					t.Fatalf("%d of %d saved logins open after %d concurrent logins; want exactly %d", open, len(saved), logins, limit)
				}
				entries, err := m.Sessions(context.Background(), "alice")
				if err != nil {
					t.Fatal(err)
				}
				records := map[bool]int{}
				for _, e := range entries {
					records[e.Remember]++
				}
				if records[false] != limit || records[true] != limit {
					t.Fatalf("%d session and %d remember records left; want %d of each", records[false], records[true], limit)
				}
				ds, err := m.Devices(context.Background(), "alice")
				if err != nil || len(ds) != limit {
					t.Fatalf("Devices = %d devices, %v; want %d", len(ds), err, limit)
				}
			})
		}
	})
}
