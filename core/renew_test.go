package session

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// rnKey returns the storage key of the session a cookie value belongs to.
func rnKey(t testing.TB, m *Manager, value string) string {
	t.Helper()
	var raw [headerSize]byte
	var h header
	if len(value) < headerEncodedSize {
		t.Fatalf("cookie value %q too short", value)
	}
	if err := decodeHeader(value[:headerEncodedSize], &raw, &h); err != nil {
		t.Fatal(err)
	}
	return m.storageKey(h.sid[:])
}

// rnVisit saves data in the jar's session, opening it first when there is one.
func rnVisit(t testing.TB, m *Manager, j stJar, key string, value any) {
	t.Helper()
	j.serve(t, func(w http.ResponseWriter, r *http.Request) {
		s, _ := openHTTP(m, w, r)
		s.Set(key, value)
		if err := s.Save(); err != nil {
			t.Fatalf("save: %v", err)
		}
	})
}

// rnLogin is the login recipe: open, sign in, renew.
func rnLogin(t testing.TB, m *Manager, j stJar, subject string, before func(*Session)) *Session {
	t.Helper()
	var s *Session
	j.serve(t, func(w http.ResponseWriter, r *http.Request) {
		s, _ = openHTTP(m, w, r)
		s.SetSubject(subject)
		if before != nil {
			before(s)
		}
		if err := s.Renew(); err != nil {
			t.Fatalf("Renew: %v", err)
		}
	})
	return s
}

func rnIndexKeys(t testing.TB, m *Manager, subject string) []string {
	t.Helper()
	entries, err := m.Sessions(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	slices.Sort(keys)
	return keys
}

func TestRenewStores(t *testing.T) {
	stores := []struct {
		name string
		new  func(t *testing.T) Store
	}{
		{"memory", func(*testing.T) Store { return newTestMemoryStore(t) }},
		{"file", func(t *testing.T) Store { return newTestFileStore(t) }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Run("visitor signs in", func(t *testing.T) {
				clock := newStoreClock()
				m := stManager(t, st.new(t), clock, nil)
				j := stJar{}
				rnVisit(t, m, j, "cart", []string{"book"})
				first := j.clone()
				clock.Add(time.Second)
				rnVisit(t, m, j, "theme", "dark") // a second save leaves stale copies
				before := j.clone()

				clock.Add(time.Second)
				s := rnLogin(t, m, j, "alice", func(s *Session) { s.Set("step", 2) })
				if !s.Exists() {
					t.Fatal("the session does not exist after Renew")
				}
				rn := m.RememberCookieName()
				for name, old := range map[string]stJar{
					"previous cookies":              before,
					"previous session cookie alone": {m.CookieName(): before[m.CookieName()]},
					"previous remember cookie":      {rn: before[rn]},
					"first cookies (stale copies)":  first,
					"first remember cookie":         {rn: first[rn]},
				} {
					if err := stOpenErr(t, m, old); !errors.Is(err, ErrNotFound) {
						t.Errorf("%s after Renew: %v, want ErrNotFound", name, err)
					}
				}
				if j[m.CookieName()] == before[m.CookieName()] || j[rn] == before[rn] {
					t.Fatal("Renew did not send new cookies")
				}

				var got struct {
					cart    []string
					theme   string
					step    int
					subject string
				}
				j.clone().serve(t, func(w http.ResponseWriter, r *http.Request) {
					s, err := openHTTP(m, w, r)
					if err != nil {
						t.Fatalf("the new cookie does not open: %v", err)
					}
					got.cart, _ = Get[[]string](s, "cart")
					got.theme, _ = Get[string](s, "theme")
					got.step, _ = Get[int](s, "step")
					got.subject = s.Subject()
				})
				if !reflect.DeepEqual(got.cart, []string{"book"}) || got.theme != "dark" || got.step != 2 || got.subject != "alice" {
					t.Errorf("after Renew: %+v, want the data set before it and subject alice", got)
				}
				want := []string{rnKey(t, m, j[m.CookieName()]), rnKey(t, m, j[rn])}
				slices.Sort(want)
				if keys := rnIndexKeys(t, m, "alice"); !reflect.DeepEqual(keys, want) {
					t.Errorf("Sessions(alice) = %v, want the new session and remember records %v", keys, want)
				}
				if ms, ok := m.Store().(*MemoryStore); ok {
					if n := ms.Len(); n != 2 {
						t.Errorf("the store holds %d records after Renew, want the 2 new ones", n)
					}
				}
				// The new remember cookie alone restores the new session.
				if err := stOpenErr(t, m, stJar{rn: j[rn]}); err != nil {
					t.Errorf("the new remember cookie does not restore the session: %v", err)
				}
			})

			t.Run("another user signs in", func(t *testing.T) {
				clock := newStoreClock()
				m := stManager(t, st.new(t), clock, nil)
				j := stLogin(t, m, "bob")
				bob := j.clone()
				if keys := rnIndexKeys(t, m, "bob"); len(keys) != 2 {
					t.Fatalf("bob has %d index entries, want 2", len(keys))
				}
				clock.Add(time.Second)
				rnLogin(t, m, j, "alice", func(s *Session) { s.SetRemember(false) })
				if ms, ok := m.Store().(*MemoryStore); ok {
					// Renew removed the records from bob's index itself;
					// Sessions would also prune them, as their records are gone.
					for _, name := range []string{m.CookieName(), m.RememberCookieName()} {
						ik := memIndexKey{name, m.encodeAudience("default"), m.encodeSubject("bob")}
						ish := ms.indexShard(ik)
						ish.mu.Lock()
						n := len(ish.entries[ik])
						ish.mu.Unlock()
						if n != 0 {
							t.Errorf("bob's %s index holds %d entries after Renew, want 0", name, n)
						}
					}
				}
				if keys := rnIndexKeys(t, m, "bob"); len(keys) != 0 {
					t.Errorf("bob's index still lists %v after the browser signed in as alice", keys)
				}
				if keys := rnIndexKeys(t, m, "alice"); len(keys) != 1 || keys[0] != rnKey(t, m, j[m.CookieName()]) {
					t.Errorf("Sessions(alice) = %v, want the new session record only (remember off)", keys)
				}
				if _, ok := j[m.RememberCookieName()]; ok {
					t.Error("the previous remember cookie was not expired (remember is off)")
				}
				if err := stOpenErr(t, m, bob); !errors.Is(err, ErrNotFound) {
					t.Errorf("bob's cookies after Renew: %v, want ErrNotFound", err)
				}
				if err := stOpenErr(t, m, j); err != nil {
					t.Errorf("alice's cookie: %v", err)
				}
			})
		})
	}
}

func TestRenewCookieStorage(t *testing.T) {
	h := newHarness(t, Config{Remember: true, RememberSafety: "None", CompressionThreshold: -1})
	s, r := h.request()
	s.Set("user", "visitor")
	s.Set("blob", noise(9000)) // three chunks
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	h.commit(r)
	oldID, oldSession := s.ID(), h.jar["session"]
	if _, ok := h.jar["session3"]; !ok {
		t.Fatalf("the visitor's cookie has no third chunk: %v", h.jar)
	}

	h.clock.Advance(time.Hour / 2)
	s, r = h.request()
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	s.Set("blob", nil)
	s.SetSubject("alice")
	if err := s.Renew(); err != nil {
		t.Fatal(err)
	}
	h.commit(r)
	if s.ID() == oldID || h.jar["session"] == oldSession {
		t.Fatal("Renew kept the session id")
	}
	if _, ok := h.jar["session2"]; ok {
		t.Errorf("the surplus chunks of the previous cookie were not expired: %v", r.setCookies)
	}
	if s.meta.creationTime != h.clock.Now().Unix() || s.rmeta.creationTime != h.clock.Now().Unix() {
		t.Errorf("creation times %d and %d after Renew, want now (%d)", s.meta.creationTime, s.rmeta.creationTime, h.clock.Now().Unix())
	}

	s, err := h.open()
	if err != nil || s.Get("user") != "visitor" || s.Subject() != "alice" || s.Get("blob") != nil {
		t.Fatalf("after Renew: %v, data %v, subject %q", err, s.Data(), s.Subject())
	}
	// Cookie storage cannot revoke: a copy of the previous cookie opens
	// until it times out.
	old := h.m.NewSession(newRecorder(joinCookies([]string{"session=" + oldSession})))
	if err := old.Open(); err == nil {
		t.Log("the previous cookie still opens, as documented")
	}
}

func TestRenewErrors(t *testing.T) {
	t.Run("new session", func(t *testing.T) {
		h := newHarness(t, Config{Store: newTestMemoryStore(t)})
		s, r := h.request()
		s.Set("a", 1)
		if err := s.Renew(); err != nil || !s.Exists() || len(r.setCookies) != 1 {
			t.Fatalf("Renew of a new session = %v, exists %v, cookies %v; want it saved", err, s.Exists(), r.setCookies)
		}
	})
	t.Run("closed", func(t *testing.T) {
		h := newHarness(t, Config{})
		s, _ := h.request()
		s.Close()
		if err := s.Renew(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Renew of a closed session: %v, want ErrClosed", err)
		}
	})
	t.Run("delete fails", func(t *testing.T) {
		st := &rnFailingDelete{MemoryStore: newTestMemoryStore(t)}
		h := newHarness(t, Config{Store: st})
		h.login(map[string]any{"a": 1}, "alice")
		st.fail = true
		s, r := h.request()
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		if err := s.Renew(); !errors.Is(err, ErrStore) {
			t.Fatalf("Renew with a failing store: %v, want ErrStore", err)
		}
		if len(r.setCookies) != 0 {
			t.Fatalf("Renew sent cookies although the previous records live on: %v", r.setCookies)
		}
	})
}

type rnFailingDelete struct {
	*MemoryStore
	fail bool
}

func (f *rnFailingDelete) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	if f.fail {
		return errors.New("delete refused")
	}
	return f.MemoryStore.Delete(ctx, name, key, opts)
}

// TestRenewMiddleware runs the login recipe in a handler behind the
// middleware with AutoSave: the renewed session is not saved a second time,
// and only the new cookie opens.
func TestRenewMiddleware(t *testing.T) {
	clock := newStoreClock()
	st := &rnCountingStore{MemoryStore: newTestMemoryStore(t)}
	m := stManager(t, st, clock, nil)
	j := stJar{}
	rnVisit(t, m, j, "cart", "book")
	before := j.clone()
	h := m.Middleware(WithAutoSave())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		s.SetSubject("alice")
		if err := s.Renew(); err != nil {
			t.Errorf("Renew: %v", err)
		}
		s.Set("step", "after renew") // saved by AutoSave
	}))
	st.sets = 0
	j.serve(t, h.ServeHTTP)
	// Renew: session and remember records; AutoSave of the change after it:
	// both again.
	if st.sets != 4 {
		t.Errorf("%d store writes, want 4 (Renew, then the auto-save of the later change)", st.sets)
	}
	if err := stOpenErr(t, m, before); !errors.Is(err, ErrNotFound) {
		t.Errorf("the previous cookies after Renew: %v, want ErrNotFound", err)
	}
	var step, cart string
	j.clone().serve(t, func(w http.ResponseWriter, r *http.Request) {
		s, err := openHTTP(m, w, r)
		if err != nil {
			t.Fatalf("the new cookie: %v", err)
		}
		step, _ = Get[string](s, "step")
		cart, _ = Get[string](s, "cart")
	})
	if step != "after renew" || cart != "book" {
		t.Errorf("after Renew behind the middleware: step %q, cart %q", step, cart)
	}

	// Without a change after Renew, AutoSave has nothing to save.
	h = m.Middleware(WithAutoSave())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := FromRequest(r).Renew(); err != nil {
			t.Errorf("Renew: %v", err)
		}
	}))
	st.sets = 0
	j.serve(t, h.ServeHTTP)
	if st.sets != 2 {
		t.Errorf("%d store writes, want 2 (Renew only)", st.sets)
	}
}

type rnCountingStore struct {
	*MemoryStore
	sets int
}

func (c *rnCountingStore) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	c.sets++
	return c.MemoryStore.Set(ctx, name, key, value, opts)
}
