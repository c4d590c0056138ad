package session

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// outageStore is a store whose Get fails with err while err is set (a
// record that is gone, ErrNotFound, or a store that is down), and whose
// Set fails with setErr while that is set.
type outageStore struct {
	Store
	err, setErr error
}

func (o *outageStore) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if o.setErr != nil {
		return o.setErr
	}
	return o.Store.Set(ctx, name, key, value, opts)
}

func (o *outageStore) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	if o.err != nil {
		return nil, o.err
	}
	return o.Store.Get(ctx, name, key, opts)
}

// nsEnv is a Manager on an injected clock, with cookie storage or with an
// outageStore, for the tests of requests without a usable session.
type nsEnv struct {
	clock *testClock
	store *outageStore // nil with cookie storage
	m     *Manager
}

func newNSEnv(t *testing.T, withStore bool) *nsEnv {
	t.Helper()
	e := &nsEnv{clock: newTestClock()}
	cfg := Config{
		Secret:        "no-session test secret",
		IdlingTimeout: Disabled, // so that a refresh 50 minutes in saves
		Clock:         e.clock.Now,
		Logger:        slog.New(slog.DiscardHandler),
	}
	if withStore {
		e.store = &outageStore{Store: newTestMemoryStore(t)}
		cfg.Store = e.store
	}
	e.m = mustNew(t, cfg)
	return e
}

// login saves a new session of m and returns its Cookie request header.
func nsLogin(t *testing.T, m *Manager) string {
	t.Helper()
	w := httptest.NewRecorder()
	s := newHTTP(m, w, httptest.NewRequest(http.MethodPost, "/login", nil))
	s.SetSubject("alice")
	if err := s.Save(); err != nil {
		t.Fatalf("login: %v", err)
	}
	var pairs []string
	for _, c := range w.Result().Cookies() {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	return strings.Join(pairs, "; ")
}

// nsCase is a request's cookie and the state of the store when it comes.
type nsCase struct {
	name      string
	storeOnly bool
	// prepare returns the request's Cookie header, after setting up the
	// environment (the clock, the store's failure) as the case needs.
	prepare func(t *testing.T, e *nsEnv) string
	exists  bool  // the request has a usable session
	wantErr error // nil: no error; else the error must match it
	// startErr, when set, is wantErr for the calls that refresh the
	// session (Start and the middleware without OpenOnly).
	startErr error
}

var errNSOutage = errors.New("connection refused")

var nsCases = []nsCase{
	{name: "valid cookie", exists: true, prepare: func(t *testing.T, e *nsEnv) string {
		return nsLogin(t, e.m)
	}},
	{name: "no cookie", prepare: func(*testing.T, *nsEnv) string { return "" }},
	{name: "unrelated cookies", prepare: func(*testing.T, *nsEnv) string { return "theme=dark; lang=en" }},
	{name: "expired", prepare: func(t *testing.T, e *nsEnv) string {
		c := nsLogin(t, e.m)
		e.clock.Advance(DefaultRollingTimeout + time.Minute)
		return c
	}},
	{name: "tampered", prepare: func(t *testing.T, e *nsEnv) string {
		c := []byte(nsLogin(t, e.m))
		i := len("session=") + 60 // in the header's MAC
		if c[i] == 'A' {
			c[i] = 'B'
		} else {
			c[i] = 'A'
		}
		return string(c)
	}},
	{name: "garbage", prepare: func(*testing.T, *nsEnv) string { return "session=forged" }},
	{name: "another key", prepare: func(t *testing.T, e *nsEnv) string {
		other := mustNew(t, Config{Secret: "another application's secret", Clock: e.clock.Now, Store: e.m.Store()})
		return nsLogin(t, other)
	}},
	{name: "record gone", storeOnly: true, prepare: func(t *testing.T, e *nsEnv) string {
		c := nsLogin(t, e.m)
		e.store.err = ErrNotFound
		return c
	}},
	{name: "store down", storeOnly: true, wantErr: ErrStore, prepare: func(t *testing.T, e *nsEnv) string {
		c := nsLogin(t, e.m)
		e.store.err = errNSOutage
		return c
	}},
	{name: "refresh fails", storeOnly: true, exists: true, startErr: ErrStore, prepare: func(t *testing.T, e *nsEnv) string {
		c := nsLogin(t, e.m)
		e.clock.Advance(50 * time.Minute) // past 3/4 of the rolling timeout: the refresh saves
		e.store.setErr = errNSOutage
		return c
	}},
}

// nsRun runs fn for each call, each case that applies to each storage,
// with a fresh environment and the case's request.
func nsRun(t *testing.T, calls []string, fn func(t *testing.T, e *nsEnv, tt nsCase, r *http.Request, call string)) {
	for _, storage := range []string{"cookie", "store"} {
		for _, tt := range nsCases {
			if tt.storeOnly && storage == "cookie" {
				continue
			}
			for _, call := range calls {
				t.Run(storage+"/"+tt.name+"/"+call, func(t *testing.T) {
					t.Parallel()
					e := newNSEnv(t, storage == "store")
					r := httptest.NewRequest(http.MethodGet, "/", nil)
					if c := tt.prepare(t, e); c != "" {
						r.Header.Set("Cookie", c)
					}
					fn(t, e, tt, r, call)
				})
			}
		}
	}
}

// nsCheckErr reports err unless it is want.
func nsCheckErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s = %v, want nil: a request without a usable session is not an error", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s = %v, want an error matching %v", what, err, want)
	case want == ErrStore && !errors.Is(err, errNSOutage):
		t.Errorf("%s = %v, want it to wrap the store's error", what, err)
	}
}

// TestOpenStartWithoutSession: Manager.Open, Manager.Start and the
// middleware give a request without a usable session (no cookie, an
// expired, tampered or foreign one, a record the store no longer has) a
// new, empty session and a nil error; a store outage is an error matching
// ErrStore, with a new session.
func TestOpenStartWithoutSession(t *testing.T) {
	t.Parallel()
	calls := []string{"Open", "Start", "Middleware", "Middleware OpenOnly"}
	nsRun(t, calls, func(t *testing.T, e *nsEnv, tt nsCase, r *http.Request, call string) {
		want := tt.wantErr
		if tt.startErr != nil && (call == "Start" || call == "Middleware") {
			want = tt.startErr
		}
		var s *Session
		var err error
		switch call {
		case "Open":
			s, err = e.m.Open(httptest.NewRecorder(), r)
		case "Start":
			s, err = e.m.Start(httptest.NewRecorder(), r)
		default:
			var opts []MiddlewareOption
			if call == "Middleware OpenOnly" {
				opts = append(opts, OpenOnly())
			}
			opts = append(opts, WithErrorHandler(func(w http.ResponseWriter, r *http.Request, herr error) {
				err = herr
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			called := false
			e.m.Middleware(opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called, s = true, FromRequest(r)
			})).ServeHTTP(httptest.NewRecorder(), r)
			if called != (want == nil) {
				t.Errorf("handler called = %v, want %v", called, want == nil)
			}
		}
		nsCheckErr(t, call, err, want)
		if s == nil {
			if call == "Open" || call == "Start" || want == nil {
				t.Fatal("no session")
			}
			return // the middleware did not run the handler
		}
		if s.Exists() != tt.exists {
			t.Errorf("Exists() = %v, want %v", s.Exists(), tt.exists)
		}
		if !tt.exists && (len(s.Data()) != 0 || s.Subject() != "") {
			t.Errorf("the session is not new and empty: %v %q", s.Data(), s.Subject())
		}
		s.Set("usable", true) // always usable, after an error too
		if s.Get("usable") != true {
			t.Error("the session does not keep a value")
		}
	})
}

// TestLogoutDestroyWithoutSession: Manager.Logout and Manager.Destroy of a
// request without a usable session have nothing to do and return nil,
// without a Set-Cookie; a store outage is an error matching ErrStore.
func TestLogoutDestroyWithoutSession(t *testing.T) {
	t.Parallel()
	nsRun(t, []string{"Logout", "Destroy"}, func(t *testing.T, e *nsEnv, tt nsCase, r *http.Request, call string) {
		fn := e.m.Logout
		if call == "Destroy" {
			fn = e.m.Destroy
		}
		w := httptest.NewRecorder()
		nsCheckErr(t, call, fn(w, r), tt.wantErr)
		lines := w.Result().Header.Values("Set-Cookie")
		switch {
		case tt.exists && (len(lines) == 0 || !strings.Contains(lines[0], "Max-Age=0")):
			t.Errorf("%s of a session sent %q, want the cookie expired", call, lines)
		case !tt.exists && len(lines) != 0:
			t.Errorf("%s without a usable session sent %q, want nothing", call, lines)
		}
		if tt.exists && e.store != nil { // the record is gone too
			if _, err := openHTTP(e.m, httptest.NewRecorder(), r); !errors.Is(err, ErrNotFound) {
				t.Errorf("the cookie opens after %s: %v, want ErrNotFound", call, err)
			}
		}
	})
}
