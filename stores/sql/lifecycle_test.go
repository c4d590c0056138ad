package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// clock is a settable session clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// app is a small net/http application on core with a SQL store.
type app struct {
	m     *session.Manager
	store session.Store // nil: cookie storage
	clock *clock
	h     http.Handler
}

func newApp(t testing.TB, st session.Store) *app {
	t.Helper()
	a := &app{store: st, clock: &clock{now: time.Unix(1_800_000_000, 0)}}
	m, err := session.New(session.Config{
		Secret:        "sqlstore lifecycle test secret",
		Store:         st,
		StoreMetadata: st != nil,
		Clock:         a.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		status := http.StatusInternalServerError
		if errors.Is(err, session.ErrStore) {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), status)
	}
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Open(w, r)
		if err != nil {
			fail(w, err)
			return
		}
		s.SetSubject(r.URL.Query().Get("user"))
		s.Set("user", r.URL.Query().Get("user"))
		s.Set("count", 0.0)
		if err := s.Save(); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Open(w, r)
		if err != nil {
			fail(w, err)
			return
		}
		if !s.Exists() {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%v %v", s.Get("user"), s.Get("count"))
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Open(w, r)
		if err != nil {
			fail(w, err)
			return
		}
		if !s.Exists() {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		n, _ := s.Get("count").(float64)
		s.Set("count", n+1)
		if err := s.Save(); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, n+1)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Destroy(w, r); err != nil {
			fail(w, err)
		}
	})
	a.h = mux
	return a
}

// do sends a request carrying cookie (name=value, may be "") and returns
// the status, the body and the new session cookie, if any.
func (a *app) do(t testing.TB, path, cookie string) (int, string, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://example.test"+path, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	var next string
	for _, c := range res.Cookies() {
		if c.Name == a.m.CookieName() {
			next = c.Name + "=" + c.Value
		}
	}
	return res.StatusCode, string(body), next
}

func (a *app) sessions(t testing.TB, user string) []store.IndexEntry {
	t.Helper()
	// The index keys, encoded as core encodes them on save: base64url of
	// the audience and of the subject (HashSubject is off).
	aud := base64.RawURLEncoding.EncodeToString([]byte(session.DefaultAudience))
	sub := base64.RawURLEncoding.EncodeToString([]byte(user))
	entries, err := a.store.(store.SubjectIndex).Sessions(context.Background(), a.m.CookieName(), aud, sub, a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestLifecycleThroughCore(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		st, table := newStore(t, db, d)
		a := newApp(t, st)

		code, _, c1 := a.do(t, "/login?user=alice", "")
		if code != http.StatusOK || c1 == "" {
			t.Fatalf("login: %d, cookie %q", code, c1)
		}
		if len(c1) != len(a.m.CookieName())+1+110 {
			t.Fatalf("cookie %q is not a 110-character header", c1)
		}
		if code, body, _ := a.do(t, "/read", c1); code != http.StatusOK || body != "alice 0" {
			t.Fatalf("read: %d %q", code, body)
		}
		if got := countRows(t, db, table); got != 1 {
			t.Fatalf("%d rows after login; want 1", got)
		}

		a.clock.Add(time.Minute)
		code, body, c2 := a.do(t, "/count", c1)
		if code != http.StatusOK || body != "1" || c2 == "" || c2 == c1 {
			t.Fatalf("count: %d %q, cookie changed: %v", code, body, c2 != c1)
		}
		if code, body, _ := a.do(t, "/read", c2); code != http.StatusOK || body != "alice 1" {
			t.Fatalf("read new cookie: %d %q", code, body)
		}
		// The previous cookie stays readable for the stale TTL (10 s, through
		// its last second, as lua-resty-session reads exp >= now), and its
		// index rows stay, as lua-resty-session leaves them: it is listed
		// as long as it is readable.
		a.clock.Add(10 * time.Second)
		if code, body, _ := a.do(t, "/read", c1); code != http.StatusOK || body != "alice 0" {
			t.Fatalf("old cookie within the stale TTL: %d %q", code, body)
		}
		if got := len(a.sessions(t, "alice")); got != 2 {
			t.Fatalf("%d indexed sessions within the stale TTL; want 2", got)
		}
		a.clock.Add(time.Second)
		if code, _, _ := a.do(t, "/read", c1); code != http.StatusUnauthorized {
			t.Fatalf("old cookie after the stale TTL: %d; want 401", code)
		}
		entries := a.sessions(t, "alice")
		if len(entries) != 1 {
			t.Fatalf("indexed sessions %v; want 1", entries)
		}

		// A second device, then "log out everywhere" through the Manager.
		_, _, c3 := a.do(t, "/login?user=alice", "")
		if got, err := a.m.Sessions(context.Background(), "alice"); err != nil || len(got) != 2 {
			t.Fatalf("Manager.Sessions = %v, %v; want 2 sessions", got, err)
		}
		if n, err := a.m.RevokeSessions(context.Background(), "alice"); err != nil || n != 2 {
			t.Fatalf("RevokeSessions = %d, %v; want 2", n, err)
		}
		for _, c := range []string{c2, c3} {
			if code, _, _ := a.do(t, "/read", c); code != http.StatusUnauthorized {
				t.Fatalf("read after revocation: %d; want 401", code)
			}
		}
		if got := countRows(t, db, table+"_meta"); got != 0 {
			t.Fatalf("%d index rows after revocation; want 0", got)
		}

		_, _, c4 := a.do(t, "/login?user=alice", "")
		if code, _, _ := a.do(t, "/logout", c4); code != http.StatusOK {
			t.Fatalf("logout: %d", code)
		}
		if code, _, _ := a.do(t, "/read", c4); code != http.StatusUnauthorized {
			t.Fatalf("read after logout: %d; want 401", code)
		}
		if got := len(a.sessions(t, "alice")); got != 0 {
			t.Fatalf("%d indexed sessions after logout; want 0", got)
		}
	})
}

// TestFailedSaveKeepsPreviousSession breaks the subject index table so that
// the save transaction fails after its upsert and its expiry update.
func TestFailedSaveKeepsPreviousSession(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		st, table := newStore(t, db, d)
		a := newApp(t, st)
		_, _, c1 := a.do(t, "/login?user=alice", "")
		if _, err := db.Exec("DROP TABLE " + table + "_meta"); err != nil {
			t.Fatal(err)
		}
		code, body, c2 := a.do(t, "/count", c1)
		if code != http.StatusServiceUnavailable || c2 != "" {
			t.Fatalf("save with a broken index: %d %q, cookie %q; want 503 (ErrStore) and no cookie", code, body, c2)
		}
		a.clock.Add(time.Minute) // well past the stale TTL
		if code, body, _ := a.do(t, "/read", c1); code != http.StatusOK || body != "alice 0" {
			t.Fatalf("previous session after the failed save: %d %q; want it readable and unchanged", code, body)
		}
		if got := countRows(t, db, table); got != 1 {
			t.Fatalf("%d rows after the failed save; want 1 (the new row rolled back)", got)
		}
	})
}

// brokenDB returns, per database, a *sql.DB that cannot work: a closed one,
// or one whose server is not there.
func brokenDBs(t *testing.T) map[string]struct {
	db *sql.DB
	d  sqlstore.Dialect
} {
	open := func(driver, dsn string) *sql.DB {
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	closed := func(db *sql.DB) *sql.DB { db.Close(); return db }
	dir := t.TempDir()
	type entry = struct {
		db *sql.DB
		d  sqlstore.Dialect
	}
	return map[string]entry{
		"postgres down":      {open("pgx", "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"), sqlstore.Postgres},
		"mariadb down":       {open("mysql", "root@tcp(127.0.0.1:1)/x?timeout=2s"), sqlstore.MySQL},
		"sqlite unreachable": {open("sqlite", "file:"+dir+"/missing/dir/s.db?mode=rw"), sqlstore.SQLite},
		"postgres closed":    {closed(open("pgx", env("SESSIONGO_POSTGRES_DSN", defaultPostgresDSN))), sqlstore.Postgres},
		"mariadb closed":     {closed(open("mysql", env("SESSIONGO_MYSQL_DSN", defaultMySQLDSN))), sqlstore.MySQL},
		"sqlite closed":      {closed(open("sqlite", "file::memory:")), sqlstore.SQLite},
	}
}

func TestBrokenDatabase(t *testing.T) {
	for name, b := range brokenDBs(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := sqlstore.New(b.db, b.d)
			if err != nil {
				t.Fatal(err)
			}
			md := &store.Metadata{Audiences: []string{"a"}, Subjects: []string{"s"}}
			checks := map[string]func() error{
				"Get": func() error {
					_, err := s.Get(ctx, "session", "k", store.GetOptions{Now: t0})
					if errors.Is(err, session.ErrNotFound) {
						return fmt.Errorf("ErrNotFound from a broken database: %w", err)
					}
					return err
				},
				"Set": func() error {
					return s.Set(ctx, "session", "k", []byte("v"), store.SetOptions{Now: t0, TTL: time.Hour})
				},
				"Set in a transaction": func() error {
					return s.Set(ctx, "session", "k", []byte("v"), store.SetOptions{Now: t0, TTL: time.Hour, OldKey: "o", Metadata: md})
				},
				"Delete":   func() error { return s.Delete(ctx, "session", "k", store.DeleteOptions{Now: t0}) },
				"Sessions": func() error { _, err := s.Sessions(ctx, "session", "a", "s", t0); return err },
				"Cleanup":  func() error { _, err := s.Cleanup(ctx, t0); return err },
				"Migrate":  func() error { return sqlstore.Migrate(ctx, b.db, b.d) },
			}
			for op, f := range checks {
				if err := f(); err == nil || errors.Is(err, session.ErrNotFound) {
					t.Errorf("%s = %v; want a database error", op, err)
				}
			}

			// Through core: the failure is a store failure, never a panic.
			a := newApp(t, s)
			if code, body, _ := a.do(t, "/login?user=alice", ""); code != http.StatusServiceUnavailable {
				t.Errorf("login: %d %q; want 503 (ErrStore)", code, body)
			}
			cookie := validCookie(t)
			if code, body, _ := a.do(t, "/read", cookie); code != http.StatusServiceUnavailable {
				t.Errorf("read: %d %q; want 503 (ErrStore)", code, body)
			}
		})
	}
}

// validCookie logs in on a working SQLite store with the test secret, so
// that a broken store is asked for its record.
func validCookie(t *testing.T) string {
	t.Helper()
	s, _ := newStore(t, openSQLiteMemory(t), sqlstore.SQLite)
	_, _, c := newApp(t, s).do(t, "/login?user=alice", "")
	if c == "" {
		t.Fatal("no cookie from a working store")
	}
	return c
}
