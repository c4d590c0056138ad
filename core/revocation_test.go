package session

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
)

// newRevStore is the one place the revocation tests make a memory store
// (the backend, or a server-side store): of at most maxEntries records and
// marks, 0 meaning the default.
func newRevStore(maxEntries int) *MemoryStore {
	st, err := NewMemoryStore(WithMaxEntries(maxEntries))
	if err != nil {
		panic(err) // a test's own bound, never negative
	}
	return st
}

// revBackend wraps a backend, counting and recording calls, and failing
// them when err is set.
type revBackend struct {
	store.Revoker

	mu      sync.Mutex
	err     error
	lookups [][]string
	marks   [][]store.Mark
}

func newRevBackend() *revBackend { return &revBackend{Revoker: newRevStore(0)} }

func (b *revBackend) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	b.mu.Lock()
	b.marks = append(b.marks, marks)
	err := b.err
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return b.Revoker.Revoke(ctx, marks, now)
}

func (b *revBackend) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	b.mu.Lock()
	b.lookups = append(b.lookups, keys)
	err := b.err
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return b.Revoker.Revoked(ctx, keys, now)
}

func (b *revBackend) fail(err error) { b.mu.Lock(); b.err = err; b.mu.Unlock() }

// calls returns how many lookups and writes the backend has seen.
func (b *revBackend) calls() (lookups, writes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lookups), len(b.marks)
}

// newRevManager returns a cookie-storage Manager with backend as its
// revocation backend, remember on (without PBKDF2) and no idling timeout.
func newRevManager(t testing.TB, backend store.Revoker, clock *storeClock, mutate func(*Config)) *Manager {
	t.Helper()
	cfg := Config{
		Secret:         "revocation test secret",
		Revocation:     backend,
		Clock:          clock.Now,
		Remember:       true,
		RememberSafety: "None",
		IdlingTimeout:  Disabled,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// revServe runs h with a session of the jar's request.
func revServe(t testing.TB, m *Manager, j stJar, h func(s *Session)) []string {
	t.Helper()
	return j.serve(t, func(w http.ResponseWriter, r *http.Request) {
		h(m.NewSession(adapter.NewHTTP(w, r)))
	})
}

// revLogin saves a new session of subject with keys in a new browser.
func revLogin(t testing.TB, m *Manager, subject string, keys ...string) stJar {
	t.Helper()
	j := stJar{}
	revServe(t, m, j, func(s *Session) {
		s.SetSubject(subject)
		s.SetRevocationKeys(keys...)
		s.Set("user", subject)
		if err := s.Save(); err != nil {
			t.Fatalf("Save: %v", err)
		}
	})
	return j
}

// revOpen opens the jar's session (keeping no cookies) and returns the
// error.
func revOpen(t testing.TB, m *Manager, j stJar) error {
	t.Helper()
	var err error
	revServe(t, m, j.clone(), func(s *Session) { err = s.Open() })
	return err
}

// revDestroy opens the jar's session and destroys it.
func revDestroy(t testing.TB, m *Manager, j stJar) (lines []string, err error) {
	t.Helper()
	lines = revServe(t, m, j, func(s *Session) {
		if err = s.Open(); err != nil {
			t.Fatalf("Open before Destroy: %v", err)
		}
		err = s.Destroy()
	})
	return lines, err
}

func wantRevoked(t testing.TB, m *Manager, j stJar, why string) {
	t.Helper()
	err := revOpen(t, m, j)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("%s: Open = %v, want an error matching ErrNotFound", why, err)
	}
}

func wantOpens(t testing.TB, m *Manager, j stJar, why string) {
	t.Helper()
	if err := revOpen(t, m, j); err != nil {
		t.Fatalf("%s: Open = %v, want the session", why, err)
	}
}

func TestRevocationConfig(t *testing.T) {
	t.Parallel()
	backend := newRevStore(0)
	tests := []struct {
		name  string
		cfg   Config
		error bool
	}{
		{"off", Config{}, false},
		{"cookie storage", Config{Revocation: backend}, false},
		{"fail open", Config{Revocation: backend, RevocationFailMode: FailOpen}, false},
		{"fail closed", Config{Revocation: backend, RevocationFailMode: FailClosed}, false},
		{"with a Store", Config{Revocation: backend, Store: newRevStore(0)}, true},
		{"unknown fail mode", Config{Revocation: backend, RevocationFailMode: "Open"}, true},
		{"unknown fail mode, no backend", Config{RevocationFailMode: "maybe"}, true},
		{"negative cache size", Config{Revocation: backend, RevocationCacheSize: -1}, true},
		{"negative TTLs are off", Config{Revocation: backend, RevocationCacheTTL: Disabled, RevocationCacheErrorTTL: Disabled}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Secret = "revocation config test"
			m, err := New(tt.cfg)
			if tt.error {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("New = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.rev.failOpen != (tt.cfg.RevocationFailMode == FailOpen) {
				t.Errorf("failOpen = %v for %q (the default is closed)", m.rev.failOpen, tt.cfg.RevocationFailMode)
			}
			if m.rev.cache != nil {
				t.Errorf("a cache without a TTL")
			}
		})
	}
	m, err := New(Config{Secret: "x", Revocation: backend, RevocationCacheTTL: time.Second})
	if err != nil || m.rev.cache == nil || m.rev.cache.size != DefaultRevocationCacheSize || m.rev.cache.errTTL != 0 {
		t.Fatalf("cache TTL only: %v, %+v", err, m.rev.cache)
	}
	if d := DefaultConfig(); d.RevocationFailMode != FailClosed || d.RevocationCacheSize != DefaultRevocationCacheSize {
		t.Fatalf("DefaultConfig: %q, %d", d.RevocationFailMode, d.RevocationCacheSize)
	}
}

func TestRevocationKeyFormat(t *testing.T) {
	t.Parallel()
	keys := map[string]bool{}
	for _, k := range []revKey{
		{kind: kindSID, sid: [sidSize]byte{1}},
		{kind: kindSID, sid: [sidSize]byte{2}},
		{kind: kindSub, a: "ab", b: "c"},
		{kind: kindSub, a: "a", b: "bc"}, // the same bytes, another pair
		{kind: kindSub, a: "", b: "abc"},
		{kind: kindKey, a: "abc"},
		{kind: kindKey, a: ""},
	} {
		sk := k.storeKey()
		prefix := map[uint8]string{kindSID: "sid:", kindSub: "sub:", kindKey: "key:"}[k.kind]
		if len(sk) != 47 || !strings.HasPrefix(sk, prefix) || !validPart(sk) {
			t.Errorf("storeKey(%+v) = %q, want %s and 43 base64url characters", k, sk, prefix)
		}
		if keys[sk] {
			t.Errorf("storeKey(%+v) = %q collides", k, sk)
		}
		keys[sk] = true
	}
	// The session id is hashed like a hashed storage key.
	m := mustNew(t, Config{Secret: "x", HashStorageKey: true})
	k := revKey{kind: kindSID, sid: [sidSize]byte{7}}
	if got, want := k.storeKey(), "sid:"+m.storageKey(k.sid[:]); got != want {
		t.Errorf("sid key %q, want %q", got, want)
	}
}

// TestRevocationDestroy: Destroy (and Logout of the only audience) makes a
// copy of the session and remember cookies useless; Save rotation writes
// nothing.
func TestRevocationDestroy(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"Destroy", "Logout"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			clock := newStoreClock()
			backend := newRevBackend()
			m := newRevManager(t, backend, clock, nil)
			j := revLogin(t, m, "alice")
			beforeSave := j.clone()
			clock.Add(time.Minute)
			revServe(t, m, j, func(s *Session) {
				if err := s.Open(); err != nil {
					t.Fatal(err)
				}
				s.Set("n", 1)
				if err := s.Save(); err != nil {
					t.Fatal(err)
				}
			})
			if _, writes := backend.calls(); writes != 0 {
				t.Fatalf("Save wrote %d revocation marks, want none", writes)
			}
			wantOpens(t, m, beforeSave, "a copy of the cookie before the save")
			copied := j.clone()
			revServe(t, m, j, func(s *Session) {
				if err := s.Open(); err != nil {
					t.Fatal(err)
				}
				var err error
				if op == "Destroy" {
					err = s.Destroy()
				} else {
					err = s.Logout()
				}
				if err != nil {
					t.Fatal(err)
				}
			})
			err := revOpen(t, m, copied.clone())
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("the copied cookies after %s: %v, want ErrNotFound", op, err)
			}
			if len(j) != 0 {
				t.Fatalf("cookies left in the browser after %s: %v", op, j)
			}
			if _, writes := backend.calls(); writes != 1 {
				t.Fatalf("%s wrote marks %d times, want once", op, writes)
			}
			for _, mk := range backend.marks[0] {
				if !strings.HasPrefix(mk.Key, "sid:") {
					t.Errorf("mark %q is not a session id mark", mk.Key)
				}
			}
			// The remember cookie alone does not restore it.
			wantRevoked(t, m, stJar{m.RememberCookieName(): copied[m.RememberCookieName()]}, "the copied remember cookie")
			// The session cookie alone.
			wantRevoked(t, m, stJar{m.CookieName(): copied[m.CookieName()]}, "the copied session cookie")
			// A copy taken before the last save has ids of its own, which
			// Destroy does not know: as in the reference, it still opens
			// (docs/revocation.md: revoke a key of the sign-in for those).
			wantOpens(t, m, beforeSave, "a copy taken before the last save")
		})
	}
}

// TestRevocationDestroyMarksTheRequestCookies: a save in the request that
// destroys the session (a refresh, a restore) replaced the cookies the
// browser sent; their copies are revoked too.
func TestRevocationDestroyMarksTheRequestCookies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(m *Manager, j stJar) stJar // returns the browser's cookies of the request
	}{
		{"refresh saved", func(m *Manager, j stJar) stJar { return j.clone() }},
		{"restored from the remember cookie", func(m *Manager, j stJar) stJar {
			return stJar{m.RememberCookieName(): j[m.RememberCookieName()]}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newStoreClock()
			m := newRevManager(t, newRevBackend(), clock, nil)
			j := tt.prepare(m, revLogin(t, m, "alice"))
			copied := j.clone()
			clock.Add(50 * time.Minute) // past 3/4 of the one-hour rolling timeout
			revServe(t, m, j, func(s *Session) {
				if err := s.Start(); err != nil || !s.Exists() {
					t.Fatalf("Start: %v", err)
				}
				if s.meta.sid == s.rev.cookie.sid {
					t.Fatal("the session was not saved under a new id")
				}
				if err := s.Destroy(); err != nil {
					t.Fatal(err)
				}
			})
			wantRevoked(t, m, copied, "a copy of the request's cookies")
		})
	}
}

// TestRevocationMarkTTL: a session id mark lasts as long as the cookie
// could still open, plus a margin; subject and key marks as long as any
// cookie can live.
func TestRevocationMarkTTL(t *testing.T) {
	t.Parallel()
	clock := newStoreClock()
	backend := newRevBackend()
	m := newRevManager(t, backend, clock, func(c *Config) {
		c.RollingTimeout = time.Hour
		c.AbsoluteTimeout = 70 * time.Minute
		c.RememberRollingTimeout = 24 * time.Hour
		c.RememberAbsoluteTimeout = 48 * time.Hour
	})
	j := revLogin(t, m, "alice")
	clock.Add(40 * time.Minute)
	revServe(t, m, j, func(s *Session) {
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(); err != nil { // rolling offsets 40 minutes
			t.Fatal(err)
		}
	})
	clock.Add(15 * time.Minute)
	if _, err := revDestroy(t, m, j); err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	want := map[time.Duration]bool{
		15*time.Minute + markMargin:         true, // session: absolute 70 - 55 < rolling 60 - 15
		(24*60-15)*time.Minute + markMargin: true, // remember: rolling 24 h - 15 < absolute 48 h - 55
	}
	for _, mk := range backend.marks[0] {
		if !want[mk.TTL] {
			t.Errorf("mark TTL %v", mk.TTL)
		}
		if !mk.At.Equal(now.Truncate(time.Second)) {
			t.Errorf("mark At %v, want %v", mk.At, now)
		}
	}
	if len(backend.marks[0]) != 2 {
		t.Fatalf("marks %+v, want the session's and the remember cookie's", backend.marks[0])
	}

	if _, err := m.RevokeSessions(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), "k", 0); err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), "k", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), "k", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{48*time.Hour + markMargin, 48*time.Hour + markMargin, time.Minute, time.Second} {
		if got := backend.marks[1+i][0].TTL; got != want {
			t.Errorf("mark %d TTL %v, want %v", i, got, want)
		}
	}
}

// TestRevokeSessionsCookieStorage: a subject's sessions created at or
// before the revocation fail to open; one created a second later opens;
// other subjects and audiences are untouched.
func TestRevokeSessionsCookieStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newStoreClock()
	m := newRevManager(t, newRevBackend(), clock, nil)
	other := newRevManager(t, m.rev.backend, clock, func(c *Config) { c.Audience = "other" })
	alice := revLogin(t, m, "alice")
	bob := revLogin(t, m, "bob")
	aliceOther := revLogin(t, other, "alice")
	clock.Add(time.Minute)
	sameSecond := revLogin(t, m, "alice")
	if n, err := m.RevokeSessions(ctx, "alice"); n != 0 || err != nil {
		t.Fatalf("RevokeSessions = %d, %v; want 0, nil", n, err)
	}
	wantRevoked(t, m, alice, "alice's session")
	wantRevoked(t, m, stJar{m.RememberCookieName(): alice[m.RememberCookieName()]}, "alice's remember cookie")
	wantRevoked(t, m, sameSecond, "a session created in the second of the revocation")
	wantOpens(t, m, bob, "bob's session")
	wantOpens(t, other, aliceOther, "alice's session in another audience")

	clock.Add(time.Second)
	wantOpens(t, m, revLogin(t, m, "alice"), "alice's new session a second later")

	// Alice signs in again in the browser of her revoked session: its
	// remember cookie must not lend the new one its creation time, which
	// would make the new remember cookie revoked from birth.
	revServe(t, m, alice, func(s *Session) {
		if err := s.Open(); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Open of the revoked session: %v", err)
		}
		s.SetSubject("alice")
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	clock.Add(time.Second)
	wantOpens(t, m, alice, "the new sign-in in the same browser")
	wantOpens(t, m, stJar{m.RememberCookieName(): alice[m.RememberCookieName()]}, "its new remember cookie")

	if _, err := mustNew(t, Config{Secret: "x"}).RevokeSessions(ctx, "alice"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("RevokeSessions with cookie storage and no revocation: %v, want ErrInvalidConfig", err)
	}
}

// TestRevokeKey: Manager.Revoke rejects the sessions that carry the key,
// in any audience, and no others; a session created later opens.
func TestRevokeKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newStoreClock()
	m := newRevManager(t, newRevBackend(), clock, nil)
	other := newRevManager(t, m.rev.backend, clock, func(c *Config) { c.Audience = "other" })
	carrying := revLogin(t, m, "alice", "sid:idp#1", "sub:idp#alice")
	otherKey := revLogin(t, m, "alice", "sid:idp#2", "sub:idp#alice2")
	noKeys := revLogin(t, m, "alice")
	otherAudience := revLogin(t, other, "carol", "sid:idp#1")
	clock.Add(time.Second)
	if err := m.Revoke(ctx, "sid:idp#1", 0); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, m, carrying, "the session carrying the key")
	wantRevoked(t, other, otherAudience, "the key in another audience")
	wantOpens(t, m, otherKey, "a session with other keys")
	wantOpens(t, m, noKeys, "a session without keys")
	clock.Add(time.Second)
	wantOpens(t, m, revLogin(t, m, "alice", "sid:idp#1"), "a session carrying the key, created a second later")

	if err := mustNew(t, Config{Secret: "x"}).Revoke(ctx, "k", 0); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Revoke without revocation: %v, want ErrInvalidConfig", err)
	}
}

// TestRevocationOtherAudienceCookie: a destroyed cookie is not brought
// back by another audience's save: its entries are dropped.
func TestRevocationOtherAudienceCookie(t *testing.T) {
	t.Parallel()
	clock := newStoreClock()
	m := newRevManager(t, newRevBackend(), clock, nil)
	other := newRevManager(t, m.rev.backend, clock, func(c *Config) { c.Audience = "other" })
	j := revLogin(t, m, "alice")
	copied := j.clone()
	if _, err := revDestroy(t, m, j); err != nil {
		t.Fatal(err)
	}
	revServe(t, other, copied, func(s *Session) {
		if err := s.Open(); !errors.Is(err, ErrNotFound) || errors.Is(err, errMissingAudience) {
			t.Fatalf("Open of a revoked cookie for another audience: %v, want the revocation", err)
		}
		if len(s.Audiences()) != 1 {
			t.Fatalf("the revoked cookie's entries were kept: %q", s.Audiences())
		}
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	if err := revOpen(t, m, copied); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the destroyed session came back through another audience's save: %v", err)
	}
}

// TestRevocationOneLookupPerOpen: the session id, the subject and every
// key of the entry go to the backend in one call.
func TestRevocationOneLookupPerOpen(t *testing.T) {
	t.Parallel()
	clock := newStoreClock()
	backend := newRevBackend()
	m := newRevManager(t, backend, clock, nil)
	j := revLogin(t, m, "alice", "k1", "k2")
	wantOpens(t, m, j, "the session")
	if lookups, _ := backend.calls(); lookups != 1 {
		t.Fatalf("%d lookups for one Open, want 1", lookups)
	}
	var kinds []string
	for _, k := range backend.lookups[0] {
		kinds = append(kinds, k[:3])
	}
	if got := strings.Join(kinds, ","); got != "sid,sub,key,key" {
		t.Fatalf("keys of the lookup: %s", got)
	}

	// A session without a subject or keys: its id alone.
	anon := stJar{}
	revServe(t, m, anon, func(s *Session) { s.Set("csrf", "x"); s.Save() }) //nolint:errcheck
	wantOpens(t, m, anon, "an anonymous session")
	if got := backend.lookups[len(backend.lookups)-1]; len(got) != 1 {
		t.Fatalf("keys of an anonymous session's lookup: %q", got)
	}

	// Without revocation nothing is asked.
	plain := mustNew(t, Config{Secret: "revocation test secret", Clock: clock.Now})
	before, _ := backend.calls()
	wantOpens(t, plain, j, "without revocation")
	if after, _ := backend.calls(); after != before {
		t.Fatal("a Manager without revocation asked the backend")
	}
}

// syncBuffer is a log sink safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// TestRevocationFailMode: with the backend down, FailClosed refuses to
// open and reports Destroy's failure (after expiring the cookies);
// FailOpen opens, destroys, and logs.
func TestRevocationFailMode(t *testing.T) {
	t.Parallel()
	down := errors.New("revocation backend down")
	for _, mode := range []FailMode{"", FailClosed, FailOpen} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			clock := newStoreClock()
			backend := newRevBackend()
			var logs syncBuffer
			m := newRevManager(t, backend, clock, func(c *Config) {
				c.RevocationFailMode = mode
				c.Logger = newTextLogger(&logs)
			})
			j := revLogin(t, m, "alice", "k")
			backend.fail(down)
			open := mode == FailOpen

			err := revOpen(t, m, j)
			if open && err != nil {
				t.Fatalf("Open with FailOpen: %v", err)
			}
			if !open && (!errors.Is(err, ErrStore) || !errors.Is(err, down) || errors.Is(err, ErrNotFound)) {
				t.Fatalf("Open with FailClosed: %v, want ErrStore wrapping the backend's error", err)
			}
			// The remember cookie alone: a restore is refused the same way.
			err = revOpen(t, m, stJar{m.RememberCookieName(): j[m.RememberCookieName()]})
			if open != (err == nil) || !open && !errors.Is(err, ErrStore) {
				t.Fatalf("restore: %v", err)
			}

			backend.fail(nil)
			var lines []string
			lines = revServe(t, m, j, func(s *Session) {
				if err := s.Open(); err != nil {
					t.Fatal(err)
				}
				backend.fail(down)
				err = s.Destroy()
				if !s.Closed() {
					t.Error("the session is not closed after Destroy")
				}
			})
			if open && err != nil || !open && !errors.Is(err, ErrStore) {
				t.Fatalf("Destroy: %v", err)
			}
			if len(lines) != 2 || len(j) != 0 {
				t.Fatalf("Destroy did not expire both cookies: %q", lines)
			}
			if got := logs.String(); open != strings.Contains(got, "RevocationFailMode open") {
				t.Fatalf("warnings: %s", got)
			}
			ctx := context.Background()
			if err := m.Revoke(ctx, "k", 0); !errors.Is(err, ErrStore) || !errors.Is(err, down) {
				t.Fatalf("Revoke: %v, want ErrStore whatever the mode", err)
			}
			if _, err := m.RevokeSessions(ctx, "alice"); !errors.Is(err, ErrStore) {
				t.Fatalf("RevokeSessions: %v, want ErrStore whatever the mode", err)
			}
		})
	}
}

// TestRevocationCache: answers are cached for RevocationCacheTTL, errors
// for RevocationCacheErrorTTL, and this Manager's own marks at once.
func TestRevocationCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("hit and expiry", func(t *testing.T) {
		t.Parallel()
		clock := newStoreClock()
		backend := newRevBackend()
		m := newRevManager(t, backend, clock, func(c *Config) { c.RevocationCacheTTL = 10 * time.Second })
		// Another process: the same backend, no cache in common.
		elsewhere := newRevManager(t, backend, clock, nil)
		j := revLogin(t, m, "alice", "k")
		wantOpens(t, m, j, "first open")
		wantOpens(t, m, j, "second open")
		if lookups, _ := backend.calls(); lookups != 1 {
			t.Fatalf("%d lookups for two opens within the TTL, want 1", lookups)
		}
		if err := elsewhere.Revoke(ctx, "k", 0); err != nil {
			t.Fatal(err)
		}
		clock.Add(9 * time.Second)
		wantOpens(t, m, j, "another process's revocation, within the cache TTL (the window)")
		clock.Add(time.Second)
		wantRevoked(t, m, j, "once the TTL has passed")
		if lookups, _ := backend.calls(); lookups != 2 {
			t.Fatalf("%d lookups, want 2", lookups)
		}
	})

	t.Run("own marks at once", func(t *testing.T) {
		t.Parallel()
		clock := newStoreClock()
		backend := newRevBackend()
		m := newRevManager(t, backend, clock, func(c *Config) { c.RevocationCacheTTL = time.Hour })
		j := revLogin(t, m, "alice", "k")
		byKey := revLogin(t, m, "bob", "k2")
		bySubject := revLogin(t, m, "carol")
		for _, s := range []stJar{j, byKey, bySubject} {
			wantOpens(t, m, s, "cached as not revoked")
		}
		copied := j.clone()
		if _, err := revDestroy(t, m, j); err != nil {
			t.Fatal(err)
		}
		if err := m.Revoke(ctx, "k2", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := m.RevokeSessions(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		lookups, _ := backend.calls()
		wantRevoked(t, m, copied, "a copy of the destroyed session")
		wantRevoked(t, m, byKey, "the revoked key")
		wantRevoked(t, m, bySubject, "the revoked subject")
		if after, _ := backend.calls(); after != lookups {
			t.Fatalf("the revocations were looked up in the backend (%d lookups), not found in the cache", after-lookups)
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name          string
			ttl, errTTL   time.Duration
			lookupsOnDown int // lookups for three opens while the backend is down
		}{
			{"error TTL", 0, 5 * time.Second, 1},
			{"no error TTL", time.Minute, 0, 3},
		} {
			t.Run(tt.name, func(t *testing.T) {
				clock := newStoreClock()
				backend := newRevBackend()
				var logs syncBuffer
				m := newRevManager(t, backend, clock, func(c *Config) {
					c.RevocationCacheTTL, c.RevocationCacheErrorTTL = tt.ttl, tt.errTTL
					c.RevocationFailMode = FailOpen
					c.Logger = newTextLogger(&logs)
				})
				j := revLogin(t, m, "alice")
				backend.fail(errors.New("down"))
				for range 3 {
					wantOpens(t, m, j, "FailOpen with the backend down")
				}
				if lookups, _ := backend.calls(); lookups != tt.lookupsOnDown {
					t.Fatalf("%d lookups, want %d", lookups, tt.lookupsOnDown)
				}
				if n := strings.Count(logs.String(), "unable to check session revocation"); n != tt.lookupsOnDown {
					t.Fatalf("%d warnings, want one per failed lookup (%d)", n, tt.lookupsOnDown)
				}
				backend.fail(nil)
				clock.Add(5 * time.Second)
				wantOpens(t, m, j, "the backend back, the error TTL passed")
				if lookups, _ := backend.calls(); lookups != tt.lookupsOnDown+1 {
					t.Fatalf("%d lookups after the error TTL, want %d", lookups, tt.lookupsOnDown+1)
				}
			})
		}
	})

	t.Run("closed errors", func(t *testing.T) {
		t.Parallel()
		clock := newStoreClock()
		backend := newRevBackend()
		m := newRevManager(t, backend, clock, func(c *Config) { c.RevocationCacheErrorTTL = time.Minute })
		j := revLogin(t, m, "alice")
		backend.fail(errors.New("down"))
		for range 2 {
			if err := revOpen(t, m, j); !errors.Is(err, ErrStore) {
				t.Fatalf("Open: %v, want ErrStore", err)
			}
		}
		if lookups, _ := backend.calls(); lookups != 1 {
			t.Fatalf("%d lookups, want the error cached", lookups)
		}
	})
}

func TestRevocationCacheBounds(t *testing.T) {
	t.Parallel()
	now := stT0
	c := newRevocationCache(64, time.Minute, time.Minute)
	for i := range 1000 {
		k := revKey{kind: kindKey, a: string(rune('a' + i%26)), b: string(rune(i))}
		c.putAnswers([]revKey{k}, []int{0}, []time.Time{{}}, now)
		if len(c.entries) > 64 {
			t.Fatalf("%d entries in a cache of 64", len(c.entries))
		}
	}

	// A cached mark is not weakened by an answer that was on its way.
	k := revKey{kind: kindSub, a: "aud", b: "alice"}
	at := now.Add(-time.Second)
	c.putMarks([]revKey{k}, []store.Mark{{At: at}}, now)
	c.putAnswers([]revKey{k}, []int{0}, []time.Time{{}}, now)
	c.putAnswers([]revKey{k}, []int{0}, []time.Time{at.Add(-time.Hour)}, now)
	c.putError([]revKey{k}, []int{0}, errors.New("down"), now)
	miss, revoked, err := c.lookup([]revKey{k}, at.Unix(), now, nil)
	if !revoked || err != nil || len(miss) != 0 {
		t.Fatalf("lookup = %v, %v, miss %v; want the mark", revoked, err, miss)
	}
	// A later mark replaces it.
	c.putAnswers([]revKey{k}, []int{0}, []time.Time{now}, now)
	if _, revoked, _ := c.lookup([]revKey{k}, now.Unix(), now, nil); !revoked {
		t.Fatal("a later mark did not replace the cached one")
	}
	// With errors cached and answers not, this Manager's own mark still
	// replaces a cached failure.
	errOnly := newRevocationCache(64, 0, time.Minute)
	errOnly.putError([]revKey{k}, []int{0}, errors.New("down"), now)
	errOnly.putMarks([]revKey{k}, []store.Mark{{At: now}}, now)
	if _, revoked, err := errOnly.lookup([]revKey{k}, now.Unix(), now, nil); !revoked || err != nil {
		t.Fatalf("own mark over a cached failure: %v, %v", revoked, err)
	}
	// Expired: a miss.
	if miss, _, _ = c.lookup([]revKey{k}, 0, now.Add(time.Minute), nil); len(miss) != 1 {
		t.Fatalf("an expired entry was not a miss")
	}
}

// TestRevocationConcurrent: one Manager, its cache and its backend used by
// many requests at once (run with -race).
func TestRevocationConcurrent(t *testing.T) {
	t.Parallel()
	clock := newStoreClock()
	m := newRevManager(t, newRevBackend(), clock, func(c *Config) {
		c.RevocationCacheTTL = time.Minute
		c.RevocationCacheSize = 16 // evictions too
	})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// No t.Fatal here: errors only, from these goroutines.
			for i := range 20 {
				j := stJar{}
				var err error
				revServe(t, m, j, func(s *Session) {
					s.SetSubject("user")
					s.SetRevocationKeys("k" + string(rune('a'+w)))
					err = s.Save()
				})
				copied := j.clone()
				if err == nil {
					err = revOpen(t, m, j)
				}
				if err == nil && i%2 == 0 {
					revServe(t, m, j, func(s *Session) {
						if err = s.Open(); err == nil {
							err = s.Destroy()
						}
					})
					if err == nil && !errors.Is(revOpen(t, m, copied), ErrNotFound) {
						err = errors.New("a destroyed session opens")
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestRevocationPartialLogout: a Logout that leaves another audience in
// the cookie writes no mark, as in the reference; the other audience's
// session goes on.
func TestRevocationPartialLogout(t *testing.T) {
	t.Parallel()
	clock := newStoreClock()
	backend := newRevBackend()
	a := newRevManager(t, backend, clock, func(c *Config) { c.Audience = "a" })
	b := newRevManager(t, backend, clock, func(c *Config) { c.Audience = "b" })
	j := revLogin(t, a, "alice")
	revServe(t, b, j, func(s *Session) {
		if err := s.Open(); !errors.Is(err, errMissingAudience) {
			t.Fatalf("Open in b: %v, want the missing audience", err)
		}
		s.SetSubject("alice")
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	revServe(t, a, j, func(s *Session) {
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		if err := s.Logout(); err != nil {
			t.Fatal(err)
		}
	})
	if _, writes := backend.calls(); writes != 0 {
		t.Fatalf("a Logout of one of two audiences wrote %d marks, want none", writes)
	}
	wantOpens(t, b, j, "the other audience after the logout")
	if err := revOpen(t, a, j); !errors.Is(err, errMissingAudience) {
		t.Fatalf("the logged-out audience: %v, want the missing audience", err)
	}
}
