package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// Settings of TestRevocationOutage's Managers.
const (
	revOutageSecret   = "sessiongo conformance revocation outage rule"
	revOutageCacheTTL = time.Minute
	revOutageErrorTTL = 10 * time.Second
)

// TestRevocationOutage checks a store serving as the revocation backend of
// cookie sessions (session.Config.Revocation) through the session library,
// with its server up and then broken. r must be connected to a server of
// the test's own (a throwaway process), and breakServer must break that
// server (kill it, freeze it, or cut the network) and return once it is
// broken.
//
// The Managers run on a clock of the test's own, which it moves ahead to
// expire cached answers; the backend is wrapped to count its lookups. With
// the server up, TestRevocationOutage checks the cache of lookups on the
// real backend: a second Open within RevocationCacheTTL asks nothing (a
// hit), a key revoked by another Manager is not seen within it and is
// seen once it has passed (expiry).
//
// It then calls breakServer, and checks, each call under a 200 ms request
// deadline and returning within 5 s past it, without a panic:
//
//   - FailClosed: Open fails with an error matching session.ErrStore and
//     not session.ErrNotFound; Destroy (of a session opened from the
//     cache) returns an error matching session.ErrStore and still expires
//     the session and remember cookies.
//   - FailOpen: Open works, and a warning is logged; Destroy returns nil,
//     expires the cookies, and logs a warning.
//   - In both modes, Manager.Revoke and Manager.RevokeSessions fail with
//     an error matching session.ErrStore.
//   - The cache: an answer cached before the outage still serves Open
//     until RevocationCacheTTL has passed, and then Open fails; a failure
//     is asked of the backend once per RevocationCacheErrorTTL, however
//     many Opens there are.
//
// As for TestStoreOutage, give the store's client timeouts well above the
// 5 s margin (a minute, say), so that a store that waits for them rather
// than for the context fails.
func TestRevocationOutage(t *testing.T, r store.Revoker, breakServer func()) {
	t.Helper()
	o := &revOutage{t: t, backend: &countingRevoker{Revoker: r}, now: time.Now().Truncate(time.Second)}
	closed := o.manager(session.FailClosed, false)
	failOpen := o.manager(session.FailOpen, false)
	cached := o.manager(session.FailClosed, true)
	elsewhere := o.manager(session.FailClosed, false) // another process

	// With the server up: the cache on the real backend.
	alice := o.login(cached, "alice", "conformance-outage-alice")
	o.wantLookups(1, "two Opens within RevocationCacheTTL, server up (the second a cache hit)", func() {
		o.wantOpen(cached, alice, "the session, server up")
		o.wantOpen(cached, alice, "the session again, server up")
	})
	if err := elsewhere.Revoke(context.Background(), "conformance-outage-alice", 0); err != nil {
		t.Fatalf("Revoke with the server up: %v", err)
	}
	o.wantLookups(0, "an Open within RevocationCacheTTL of the last lookup", func() {
		o.wantOpen(cached, alice, "another Manager's revocation within RevocationCacheTTL (the documented window)")
	})
	o.advance(revOutageCacheTTL)
	o.wantLookups(1, "an Open once RevocationCacheTTL has passed", func() {
		if err := o.open(cached, alice); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("another Manager's revocation once RevocationCacheTTL has passed, server up: Open = %v; want the session revoked (ErrNotFound)", err)
		}
	})

	// Sessions for the outage, and cached answers for two of them.
	bob := o.login(closed, "bob")
	carol := o.login(cached, "carol")
	dave := o.login(failOpen, "dave")
	erin := o.login(cached, "erin")
	frank := o.login(cached, "frank")
	o.wantOpen(cached, carol, "carol's session, server up")
	o.wantOpen(cached, frank, "frank's session, server up")

	breakServer()

	// FailClosed: Open fails, so Destroy runs on a session opened from
	// the cache.
	o.step("destroy_fail_closed", func(ctx context.Context) error {
		var err error
		o.serve(ctx, cached, carol, func(s *session.Session, w *httptest.ResponseRecorder) {
			if err = s.Open(); err != nil {
				err = fmt.Errorf("Open of a session whose answer was cached before the outage = %v; want the session (a cache hit)", err)
				return
			}
			if err = s.Destroy(); !isStoreFailure(err) {
				err = fmt.Errorf("Destroy with FailClosed and the server broken = %v; want an error matching session.ErrStore", err)
				return
			}
			err = cookiesExpired(cached, w)
		})
		return err
	})
	o.step("open_fail_closed", func(ctx context.Context) error {
		if err := o.openCtx(ctx, closed, bob); !isStoreFailure(err) {
			return fmt.Errorf("Open with FailClosed and the server broken = %v; want an error matching session.ErrStore, not session.ErrNotFound", err)
		}
		return nil
	})
	o.step("open_fail_open", func(ctx context.Context) error {
		warnings := o.warnings()
		if err := o.openCtx(ctx, failOpen, dave); err != nil {
			return fmt.Errorf("Open with FailOpen and the server broken = %v; want the session", err)
		}
		if o.warnings() == warnings {
			return errors.New("Open with FailOpen and the server broken logged no warning")
		}
		return nil
	})
	o.step("destroy_fail_open", func(ctx context.Context) error {
		var err error
		o.serve(ctx, failOpen, dave, func(s *session.Session, w *httptest.ResponseRecorder) {
			if err = s.Open(); err != nil {
				err = fmt.Errorf("Open before Destroy with FailOpen and the server broken = %v; want the session", err)
				return
			}
			warnings := o.warnings()
			if err = s.Destroy(); err != nil {
				err = fmt.Errorf("Destroy with FailOpen and the server broken = %v; want nil", err)
				return
			}
			if o.warnings() == warnings {
				err = errors.New("Destroy with FailOpen and the server broken logged no warning")
				return
			}
			err = cookiesExpired(failOpen, w)
		})
		return err
	})
	for _, m := range []struct {
		name string
		m    *session.Manager
	}{{"fail_closed", closed}, {"fail_open", failOpen}} {
		o.step("revoke_"+m.name, func(ctx context.Context) error {
			if err := m.m.Revoke(ctx, "conformance-outage-key", 0); !isStoreFailure(err) {
				return fmt.Errorf("Revoke with the server broken = %v; want an error matching session.ErrStore", err)
			}
			return nil
		})
		o.step("revoke_sessions_"+m.name, func(ctx context.Context) error {
			if _, err := m.m.RevokeSessions(ctx, "bob"); !isStoreFailure(err) {
				return fmt.Errorf("RevokeSessions with the server broken = %v; want an error matching session.ErrStore", err)
			}
			return nil
		})
	}

	// The cache: a cached answer, then cached failures.
	o.wantLookups(0, "an Open of a session whose answer was cached before the outage", func() {
		o.step("cache_hit_broken", func(ctx context.Context) error {
			return o.openCtx(ctx, cached, frank)
		})
	})
	openErin := func(ctx context.Context) error {
		if err := o.openCtx(ctx, cached, erin); !isStoreFailure(err) {
			return fmt.Errorf("Open with FailClosed and the server broken = %v; want an error matching session.ErrStore", err)
		}
		return nil
	}
	o.wantLookups(1, "three Opens within RevocationCacheErrorTTL, server broken (the failure cached)", func() {
		for i := range 3 {
			o.step(fmt.Sprintf("error_cached_%d", i+1), openErin)
		}
	})
	o.advance(revOutageErrorTTL)
	o.wantLookups(1, "an Open once RevocationCacheErrorTTL has passed, server broken", func() {
		o.step("error_cache_expired", openErin)
		o.step("cache_hit_broken_later", func(ctx context.Context) error {
			return o.openCtx(ctx, cached, frank)
		})
	})
	o.advance(revOutageCacheTTL)
	o.wantLookups(1, "an Open once RevocationCacheTTL of a cached answer has passed, server broken", func() {
		o.step("cache_expired_broken", func(ctx context.Context) error {
			if err := o.openCtx(ctx, cached, frank); !isStoreFailure(err) {
				return fmt.Errorf("Open once the cached answer expired, server broken = %v; want an error matching session.ErrStore", err)
			}
			return nil
		})
	})
}

// isStoreFailure reports whether err is what the library reports for a
// backend failure: ErrStore, not ErrNotFound.
func isStoreFailure(err error) bool {
	return errors.Is(err, session.ErrStore) && !errors.Is(err, session.ErrNotFound)
}

// revOutage is the state of one TestRevocationOutage.
type revOutage struct {
	t       *testing.T
	backend *countingRevoker
	logs    warnCounter

	mu  sync.Mutex
	now time.Time
}

func (o *revOutage) clock() time.Time { o.mu.Lock(); defer o.mu.Unlock(); return o.now }

func (o *revOutage) advance(d time.Duration) { o.mu.Lock(); o.now = o.now.Add(d); o.mu.Unlock() }

func (o *revOutage) warnings() int { return o.logs.count() }

// manager returns a cookie-storage Manager on the test's clock with the
// counted backend, remember on, logging to o.logs.
func (o *revOutage) manager(mode session.FailMode, cache bool) *session.Manager {
	o.t.Helper()
	cfg := session.Config{
		Secret:             revOutageSecret,
		Revocation:         o.backend,
		RevocationFailMode: mode,
		Clock:              o.clock,
		Remember:           true,
		RememberSafety:     session.SafetyNone,
		IdlingTimeout:      session.Disabled,
		Logger:             slog.New(&o.logs),
	}
	if cache {
		cfg.RevocationCacheTTL, cfg.RevocationCacheErrorTTL = revOutageCacheTTL, revOutageErrorTTL
	}
	m, err := session.New(cfg)
	if err != nil {
		o.t.Fatalf("session.New: %v", err)
	}
	return m
}

// serve serves one request with cookies under ctx to h, which gets the
// request's session (not opened) and the response.
func (o *revOutage) serve(ctx context.Context, m *session.Manager, cookies []*http.Cookie, h func(s *session.Session, w *httptest.ResponseRecorder)) {
	req := httptest.NewRequest(http.MethodGet, "http://example.com/", nil).WithContext(ctx)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h(newSession(m, w, req), w)
}

// cookiesExpired checks that the response of a Destroy expires the session
// and remember cookies.
func cookiesExpired(m *session.Manager, w *httptest.ResponseRecorder) error {
	expired := map[string]bool{}
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			expired[c.Name] = true
		}
	}
	for _, name := range []string{m.CookieName(), m.RememberCookieName()} {
		if !expired[name] {
			return fmt.Errorf("Destroy with the server broken left the %s cookie in the browser (Set-Cookie %q); it must expire it", name, w.Result().Header.Values("Set-Cookie"))
		}
	}
	return nil
}

// login saves a new session of subject with keys and returns its cookies.
func (o *revOutage) login(m *session.Manager, subject string, keys ...string) []*http.Cookie {
	o.t.Helper()
	w := httptest.NewRecorder()
	s := newSession(m, w, httptest.NewRequest(http.MethodGet, "http://example.com/", nil))
	s.SetSubject(subject)
	s.SetRevocationKeys(keys...)
	if err := s.Save(); err != nil {
		o.t.Fatalf("Save with the server up: %v", err)
	}
	return w.Result().Cookies()
}

// openCtx opens the session of cookies under ctx: Session.Open's error.
func (o *revOutage) openCtx(ctx context.Context, m *session.Manager, cookies []*http.Cookie) error {
	var err error
	o.serve(ctx, m, cookies, func(s *session.Session, _ *httptest.ResponseRecorder) { err = s.Open() })
	return err
}

func (o *revOutage) open(m *session.Manager, cookies []*http.Cookie) error {
	return o.openCtx(context.Background(), m, cookies)
}

func (o *revOutage) wantOpen(m *session.Manager, cookies []*http.Cookie, why string) {
	o.t.Helper()
	if err := o.open(m, cookies); err != nil {
		o.t.Fatalf("%s: Open = %v; want the session", why, err)
	}
}

// wantLookups checks that fs together ask the backend n times.
func (o *revOutage) wantLookups(n int, what string, fs ...func()) {
	o.t.Helper()
	before := o.backend.calls()
	for _, f := range fs {
		f()
	}
	if got := o.backend.calls() - before; got != n {
		o.t.Errorf("%s: %d backend lookups, want %d", what, got, n)
	}
}

// step runs call as a subtest, under a context with the rule's deadline.
func (o *revOutage) step(name string, call func(ctx context.Context) error) {
	o.t.Helper()
	o.t.Run(name, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), outageDeadline)
		defer cancel()
		if err := o.timed(name, ctx, call); err != nil {
			t.Error(err)
		}
	})
}

// timed runs call under ctx and returns its error, or one that says it
// panicked or did not return within outageSlack past outageDeadline.
func (o *revOutage) timed(name string, ctx context.Context, call func(context.Context) error) (err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s with the server broken panicked: %v", name, p)
		}
		if took := time.Since(start); took > outageDeadline+outageSlack && err == nil {
			err = fmt.Errorf("%s with the server broken took %v, more than %v past the request's %v deadline: the store must give up when the context ends", name, took, outageSlack, outageDeadline)
		}
	}()
	return call(ctx)
}

// countingRevoker counts the lookups of a store.Revoker.
type countingRevoker struct {
	store.Revoker
	mu      sync.Mutex
	lookups int
}

func (c *countingRevoker) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	c.mu.Lock()
	c.lookups++
	c.mu.Unlock()
	return c.Revoker.Revoked(ctx, keys, now)
}

func (c *countingRevoker) calls() int { c.mu.Lock(); defer c.mu.Unlock(); return c.lookups }

// warnCounter is a slog.Handler that counts warnings about revocation.
type warnCounter struct {
	mu sync.Mutex
	n  int
}

func (w *warnCounter) Enabled(context.Context, slog.Level) bool { return true }

func (w *warnCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && strings.Contains(r.Message, "revocation") {
		w.mu.Lock()
		w.n++
		w.mu.Unlock()
	}
	return nil
}

func (w *warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnCounter) WithGroup(string) slog.Handler      { return w }

func (w *warnCounter) count() int { w.mu.Lock(); defer w.mu.Unlock(); return w.n }
