package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// storeClock is a settable clock, safe for concurrent use.
type storeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStoreClock() *storeClock { return &storeClock{now: stT0} }

func (c *storeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *storeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// stJar is a browser's cookie store, as far as these tests need one.
type stJar map[string]string

func (j stJar) clone() stJar {
	c := stJar{}
	for k, v := range j {
		c[k] = v
	}
	return c
}

func (j stJar) header() string {
	names := make([]string, 0, len(j))
	for n := range j {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(n + "=" + j[n])
	}
	return b.String()
}

// serve runs h on a request carrying the jar's cookies and stores the
// response's cookies in the jar; it returns the Set-Cookie lines.
func (j stJar) serve(t testing.TB, h func(w http.ResponseWriter, r *http.Request)) []string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	if c := j.header(); c != "" {
		r.Header.Set("Cookie", c)
	}
	w := httptest.NewRecorder()
	h(w, r)
	lines := w.Result().Header.Values("Set-Cookie")
	for _, line := range lines {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("bad Set-Cookie %q: %v", line, err)
		}
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c.Value
		}
	}
	return lines
}

// stLogin saves a new session of subject and returns the browser's jar.
func stLogin(t testing.TB, m *Manager, subject string) stJar {
	t.Helper()
	j := stJar{}
	j.serve(t, func(w http.ResponseWriter, r *http.Request) {
		s := newHTTP(m, w, r)
		s.SetSubject(subject)
		s.Set("user", subject)
		if err := s.Save(); err != nil {
			t.Fatalf("save: %v", err)
		}
	})
	return j
}

// stOpenErr opens the jar's session and returns the error.
func stOpenErr(t testing.TB, m *Manager, j stJar) error {
	t.Helper()
	var err error
	j.clone().serve(t, func(w http.ResponseWriter, r *http.Request) { _, err = openHTTP(m, w, r) })
	return err
}

// stNoIndex hides the subject index of the store it wraps.
type stNoIndex struct{ Store }

// stFailingIndex is a MemoryStore whose index fails.
type stFailingIndex struct{ *MemoryStore }

func (stFailingIndex) Sessions(context.Context, string, string, string, time.Time) ([]store.IndexEntry, error) {
	return nil, errors.New("index down")
}

func stManager(t testing.TB, store Store, clock *storeClock, mutate func(*Config)) *Manager {
	t.Helper()
	cfg := Config{
		Secret:         "index test secret",
		Store:          store,
		Clock:          clock.Now,
		StoreMetadata:  true,
		Remember:       true,
		RememberSafety: "None",
	}
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManagerSessions(t *testing.T) {
	ctx := context.Background()
	for _, hash := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain subject", true: "hashed subject"}[hash], func(t *testing.T) {
			clock := newStoreClock()
			st := newTestMemoryStore(t)
			m := stManager(t, st, clock, func(c *Config) { c.HashSubject = hash })
			alice1 := stLogin(t, m, "alice")
			clock.Add(time.Minute)
			alice2 := stLogin(t, m, "alice")
			bob := stLogin(t, m, "bob")

			entries, err := m.Sessions(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			// Two sessions, each with a session and a remember record.
			if len(entries) != 4 {
				t.Fatalf("alice has %d index entries, want 4: %v", len(entries), entries)
			}
			if !entries[0].Expires.Equal(clock.Now().Add(-time.Minute).Add(DefaultRollingTimeout)) {
				t.Errorf("first entry expires %v, want the first session's record expiry", entries[0].Expires)
			}
			for i := 1; i < len(entries); i++ {
				if entries[i].Expires.Before(entries[i-1].Expires) {
					t.Errorf("entries not sorted by expiry: %v", entries)
				}
			}
			if e, _ := m.Sessions(ctx, "bob"); len(e) != 2 {
				t.Fatalf("bob has %d entries, want 2", len(e))
			}
			// One Manager, one audience: a Manager of another audience on
			// the same store sees none of them.
			other := stManager(t, st, clock, func(c *Config) { c.HashSubject = hash; c.Audience = "other" })
			if e, _ := other.Sessions(ctx, "alice"); len(e) != 0 {
				t.Fatalf("alice has %d entries in another audience, want 0", len(e))
			}

			// Cap: revoke alice's oldest session record; its remember
			// record (same browser) goes with it.
			if entries[0].Remember {
				t.Fatalf("the oldest entry is a remember record: %v", entries)
			}
			if err := m.RevokeSession(ctx, "alice", entries[0].Key); err != nil {
				t.Fatal(err)
			}
			left, _ := m.Sessions(ctx, "alice")
			if len(left) != 2 || left[0].Remember == left[1].Remember {
				t.Fatalf("after RevokeSession alice has %v, want the session and remember records of her other browser", left)
			}
			if err := stOpenErr(t, m, alice1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the revoked browser's cookies open again (restored from its remember cookie?): %v", err)
			}

			n, err := m.RevokeSessions(ctx, "alice")
			if err != nil || n != 2 {
				t.Fatalf("RevokeSessions = %d, %v; want 2, nil", n, err)
			}
			if e, _ := m.Sessions(ctx, "alice"); len(e) != 0 {
				t.Fatalf("after RevokeSessions alice has %d entries", len(e))
			}
			for i, j := range []stJar{alice1, alice2} {
				if err := stOpenErr(t, m, j); !errors.Is(err, ErrNotFound) {
					t.Errorf("alice's session %d after revoke: %v, want ErrNotFound", i+1, err)
				}
				// Without the session cookie the remember cookie cannot restore it either.
				rj := stJar{m.RememberCookieName(): j[m.RememberCookieName()]}
				if err := stOpenErr(t, m, rj); !errors.Is(err, ErrNotFound) {
					t.Errorf("alice's remember cookie %d after revoke: %v, want ErrNotFound", i+1, err)
				}
			}
			if err := stOpenErr(t, m, bob); err != nil {
				t.Fatalf("bob's session after revoking alice's: %v", err)
			}
			if n, err := m.RevokeSessions(ctx, "alice"); n != 0 || err != nil {
				t.Fatalf("second RevokeSessions = %d, %v; want 0, nil", n, err)
			}
		})
	}
}

func TestManagerSessionsErrors(t *testing.T) {
	ctx := context.Background()
	clock := newStoreClock()
	tests := []struct {
		name   string
		store  Store
		mutate func(*Config)
		want   error
	}{
		{"cookie storage", nil, nil, ErrInvalidConfig},
		{"store without index", stNoIndex{newTestMemoryStore(t)}, nil, ErrInvalidConfig},
		{"failing index", stFailingIndex{newTestMemoryStore(t)}, nil, ErrStore},
		{"metadata off", newTestMemoryStore(t), func(c *Config) { c.StoreMetadata = false }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := stManager(t, tt.store, clock, tt.mutate)
			if tt.store != nil {
				stLogin(t, m, "alice")
			}
			entries, err := m.Sessions(ctx, "alice")
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Sessions: %v, want %v", err, tt.want)
			}
			if len(entries) != 0 {
				t.Fatalf("Sessions listed %v, want none", entries)
			}
			n, err := m.RevokeSessions(ctx, "alice")
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) || n != 0 {
				t.Fatalf("RevokeSessions = %d, %v; want 0, %v", n, err, tt.want)
			}
			if tt.want == ErrInvalidConfig {
				if err := m.RevokeSession(ctx, "alice", "k"); !errors.Is(err, tt.want) {
					t.Fatalf("RevokeSession: %v, want %v", err, tt.want)
				}
			}
		})
	}
}
