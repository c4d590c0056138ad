package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// mwClock is an injected clock for the middleware tests.
type mwClock struct{ now atomic.Int64 }

func (c *mwClock) Now() time.Time          { return time.Unix(c.now.Load(), 0) }
func (c *mwClock) Advance(d time.Duration) { c.now.Add(int64(d / time.Second)) }

// countingRand is crypto-free randomness that counts the session ids drawn:
// one per save.
type countingRand struct{ reads, total atomic.Int64 }

func (r *countingRand) Read(p []byte) (int, error) {
	r.reads.Add(1)
	n := r.total.Add(1)
	for i := range p {
		p[i] = byte(n) + byte(i)
	}
	return len(p), nil
}

type mwEnv struct {
	m     *session.Manager
	clock *mwClock
	rand  *countingRand
}

func newMWEnv(t *testing.T, cfg session.Config) *mwEnv {
	t.Helper()
	e := &mwEnv{clock: &mwClock{}, rand: &countingRand{}}
	e.clock.now.Store(1700000000)
	cfg.Secret = "middleware-test-secret"
	cfg.Clock = e.clock.Now
	cfg.Rand = e.rand
	m, err := session.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.m = m
	return e
}

// saves returns the number of saves since the last call.
func (e *mwEnv) saves() int64 { return e.rand.reads.Swap(0) }

// serve runs one request through h with the given Cookie header and returns
// the recorded response (headers as they were when the status went out).
func serve(h http.Handler, cookie string) *http.Response {
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// cookieOf returns "name=value" of the response's Set-Cookie for name.
func cookieOf(t *testing.T, resp *http.Response, name string) string {
	t.Helper()
	var found string
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			if found != "" {
				t.Fatalf("two Set-Cookie lines for %s", name)
			}
			found, _, _ = strings.Cut(line, ";")
		}
	}
	return found
}

// login returns the Cookie header of a saved session holding data.
func (e *mwEnv) login(t *testing.T, data map[string]any) string {
	t.Helper()
	resp := serve(e.m.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		for k, v := range data {
			s.Set(k, v)
		}
		if err := s.Save(); err != nil {
			t.Errorf("Save: %v", err)
		}
	})), "")
	c := cookieOf(t, resp, "session")
	if c == "" {
		t.Fatal("login: no session cookie")
	}
	e.saves()
	return c
}

func TestMiddlewareSessionInContext(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, session.Config{})
	if s := session.FromRequest(httptest.NewRequest("GET", "/", nil)); s != nil {
		t.Fatal("FromRequest without the middleware: want nil")
	}
	cookie := e.login(t, map[string]any{"user": "alice"})
	tests := []struct {
		name, cookie string
		exists       bool
	}{
		{"no cookie", "", false},
		{"valid cookie", cookie, true},
		{"tampered cookie", cookie[:len(cookie)-2] + "AA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *session.Session
			resp := serve(e.m.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = session.FromContext(r.Context())
			})), tt.cookie)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200: an unusable cookie means a new session", resp.StatusCode)
			}
			if got == nil {
				t.Fatal("no session in the request context")
			}
			if got.Exists() != tt.exists {
				t.Fatalf("Exists() = %v, want %v", got.Exists(), tt.exists)
			}
			if tt.exists && got.Get("user") != "alice" {
				t.Fatalf("user = %v, want alice", got.Get("user"))
			}
		})
	}
}

func TestMiddlewareAutoSave(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		autoSave bool
		handler  func(s *session.Session, w http.ResponseWriter)
		saves    int64
		cookie   bool
	}{
		{"change then body", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 2)
			io.WriteString(w, "body")
		}, 1, true},
		{"change, no body", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 2)
		}, 1, true},
		{"change then flush", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 2)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		}, 1, true},
		{"change then status", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 2)
			w.WriteHeader(http.StatusCreated)
		}, 1, true},
		{"no change", true, func(s *session.Session, w http.ResponseWriter) {
			_ = s.Get("n")
			io.WriteString(w, "body")
		}, 0, false},
		{"set to the same value", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 1.0)
			io.WriteString(w, "body")
		}, 0, false},
		{"explicit save then body", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 2)
			s.Save()
			io.WriteString(w, "body")
		}, 1, true},
		{"save then change", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 2)
			s.Save()
			s.Set("n", 3)
		}, 2, true},
		{"change then touch", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 3)
			s.Touch()
		}, 1, true},
		{"subject", true, func(s *session.Session, w http.ResponseWriter) {
			s.SetSubject("bob")
		}, 1, true},
		{"remember off", true, func(s *session.Session, w http.ResponseWriter) {
			s.SetRemember(false)
		}, 1, true},
		{"destroyed", true, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 2)
			s.Destroy()
		}, 0, true},
		{"without auto-save", false, func(s *session.Session, w http.ResponseWriter) {
			s.Set("n", 2)
			io.WriteString(w, "body")
		}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newMWEnv(t, session.Config{})
			cookie := e.login(t, map[string]any{"n": 1})
			var opts []session.MiddlewareOption
			if tt.autoSave {
				opts = append(opts, session.WithAutoSave())
			}
			resp := serve(e.m.Middleware(opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.handler(session.FromRequest(r), w)
			})), cookie)
			if got := e.saves(); got != tt.saves {
				t.Errorf("saves = %d, want %d", got, tt.saves)
			}
			if got := cookieOf(t, resp, "session") != ""; got != tt.cookie {
				t.Errorf("session Set-Cookie sent = %v, want %v", got, tt.cookie)
			}
		})
	}
}

func TestMiddlewareAutoSaveReachesNextRequest(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, session.Config{})
	h := e.m.Middleware(session.WithAutoSave())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		n, _ := s.Get("n").(float64)
		s.Set("n", n+1)
		io.WriteString(w, "written before the handler returned")
	}))
	cookie := ""
	for want := 1.0; want <= 3; want++ {
		resp := serve(h, cookie)
		cookie = cookieOf(t, resp, "session")
		if cookie == "" {
			t.Fatalf("request %v: no session cookie", want)
		}
		var got any
		serve(e.m.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = session.FromRequest(r).Get("n")
		})), cookie)
		if got != want {
			t.Fatalf("n = %v, want %v", got, want)
		}
	}
}

func TestMiddlewareLateSave(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, session.Config{})
	var reported error
	h := e.m.Middleware(session.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		reported = err
		http.Error(w, "late", http.StatusInternalServerError) // discarded: the response started
	}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body")
		s := session.FromRequest(r)
		s.Set("n", 1)
		if err := s.Save(); err != nil {
			t.Errorf("Save: %v", err)
		}
	}))
	resp := serve(h, "")
	if !errors.Is(reported, session.ErrHeadersSent) {
		t.Fatalf("error handler got %v, want ErrHeadersSent", reported)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: the error handler's reply must be discarded once the response started", resp.StatusCode)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "body" {
		t.Fatalf("body %q, want %q", body, "body")
	}
	if c := cookieOf(t, resp, "session"); c != "" {
		t.Fatalf("a cookie set after the headers went out reached the recorder: %s", c)
	}
}

type failingStore struct{ err error }

func (f failingStore) Get(context.Context, string, string, store.GetOptions) ([]byte, error) {
	return nil, f.err
}
func (f failingStore) Set(context.Context, string, string, []byte, store.SetOptions) error {
	return f.err
}
func (f failingStore) Delete(context.Context, string, string, store.DeleteOptions) error {
	return f.err
}

func TestMiddlewareErrors(t *testing.T) {
	t.Parallel()
	outage := errors.New("connection refused")
	// A header-only cookie made with a working store, replayed against a
	// broken one.
	header := func(t *testing.T) string {
		e := newMWEnv(t, session.Config{Store: saveOnlyStore{}})
		return e.login(t, map[string]any{"user": "alice"})
	}
	tests := []struct {
		name      string
		cookie    func(t *testing.T) string
		autoSave  bool
		custom    bool
		status    int
		handlerOK bool
	}{
		{"open fails, default handler", header, false, false, 500, false},
		{"open fails, custom handler", header, false, true, 418, false},
		{"no cookie: a new session", func(*testing.T) string { return "" }, false, false, 200, true},
		{"auto-save fails, nothing written", func(*testing.T) string { return "" }, true, false, 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newMWEnv(t, session.Config{Store: failingStore{outage}, Logger: discardLogger()})
			var reported error
			opts := []session.MiddlewareOption{}
			if tt.custom {
				opts = append(opts, session.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
					reported = err
					w.WriteHeader(418)
				}))
			}
			if tt.autoSave {
				opts = append(opts, session.WithAutoSave())
			}
			called := false
			resp := serve(e.m.Middleware(opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				session.FromRequest(r).Set("x", 1)
			})), tt.cookie(t))
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if called != tt.handlerOK {
				t.Errorf("handler called = %v, want %v", called, tt.handlerOK)
			}
			if tt.custom && !errors.Is(reported, session.ErrStore) || tt.custom && !errors.Is(reported, outage) {
				t.Errorf("error handler got %v, want ErrStore wrapping the outage", reported)
			}
		})
	}
}

// saveOnlyStore accepts writes and forgets them: enough to mint a
// header-only cookie.
type saveOnlyStore struct{}

func (saveOnlyStore) Get(context.Context, string, string, store.GetOptions) ([]byte, error) {
	return nil, session.ErrNotFound
}
func (saveOnlyStore) Set(context.Context, string, string, []byte, store.SetOptions) error {
	return nil
}
func (saveOnlyStore) Delete(context.Context, string, string, store.DeleteOptions) error {
	return nil
}

func TestMiddlewareHeadersAndClearRequestCookie(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, session.Config{
		RequestHeaders:  []session.Property{"id", "subject"},
		ResponseHeaders: []session.Property{"id", "audience"},
	})
	cookie := e.login(t, map[string]any{"user": "alice"})
	var seenID, seenCookie, savedID string
	h := e.m.Middleware(session.WithHeaders(), session.WithClearRequestCookie())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenID, seenCookie = r.Header.Get("Session-Id"), r.Header.Get("Cookie")
		s := session.FromRequest(r)
		s.Save() // a new id: the response header must carry it
		savedID = s.ID()
		io.WriteString(w, "ok")
	}))
	resp := serve(h, "a=1; "+cookie+"; b=2")
	if seenID == "" || seenID == savedID {
		t.Errorf("request Session-Id %q: want the opened session's id (not %q)", seenID, savedID)
	}
	if seenCookie != "a=1; b=2" {
		t.Errorf("handler saw Cookie %q, want %q", seenCookie, "a=1; b=2")
	}
	if got := resp.Header.Get("Session-Id"); got != savedID {
		t.Errorf("response Session-Id %q, want the saved id %q", got, savedID)
	}
	if got := resp.Header.Get("Session-Audience"); got != "default" {
		t.Errorf("response Session-Audience %q, want default", got)
	}

	// No session: no headers, the Cookie header is left alone.
	resp = serve(h, "a=1")
	if seenID != "" || seenCookie != "a=1" {
		t.Errorf("without a session: Session-Id %q, Cookie %q", seenID, seenCookie)
	}
}

func TestMiddlewareStartRefreshes(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, session.Config{})
	cookie := e.login(t, map[string]any{"user": "alice"})
	e.clock.Advance(2 * time.Minute) // past the touch threshold
	for _, tt := range []struct {
		name  string
		opts  []session.MiddlewareOption
		touch bool
	}{
		{"start", nil, true},
		{"open only", []session.MiddlewareOption{session.OpenOnly()}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(e.m.Middleware(tt.opts...)(http.NotFoundHandler()), cookie)
			if got := cookieOf(t, resp, "session") != ""; got != tt.touch {
				t.Fatalf("touched = %v, want %v", got, tt.touch)
			}
		})
	}
}

// TestMiddlewareWriterKeepsController checks that the wrapped writer still
// serves http.ResponseController and streams, on a real server.
func TestMiddlewareWriterKeepsController(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, session.Config{})
	release := make(chan struct{})
	srv := httptest.NewServer(e.m.Middleware(session.WithAutoSave())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		session.FromRequest(r).Set("streamed", true)
		io.WriteString(w, "first\n")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-release // the client reads the headers before the handler returns
		io.WriteString(w, "second\n")
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cookieOf(t, resp, "session") == "" {
		t.Error("streamed response: no session cookie in the headers")
	}
	close(release)
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "first\nsecond\n" {
		t.Errorf("body %q", body)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	m, err := session.New(session.Config{Secret: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	m.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		s.Set("user", "alice")
		s.Save()
	})).ServeHTTP(w, r)
	cookie := w.Result().Cookies()[0]
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = session.FromRequest(r).Get("user")
		io.WriteString(w, "ok")
	})
	modify := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		s.Set("n", 1)
		s.Save()
		io.WriteString(w, "ok")
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", bare},
		{"open+read", m.Middleware()(read)},
		{"open+modify+save", m.Middleware()(modify)},
		{"open+modify+autosave", m.Middleware(session.WithAutoSave())(modify)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(cookie)
			for b.Loop() {
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, r)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestMiddlewareAutoSaveUnencodable(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, session.Config{Logger: discardLogger()})
	var reported error
	resp := serve(e.m.Middleware(session.WithAutoSave(), session.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		reported = err
		w.WriteHeader(http.StatusInternalServerError)
	}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromRequest(r).Set("ch", make(chan int))
	})), "")
	if !errors.Is(reported, session.ErrInvalid) {
		t.Fatalf("error handler got %v, want the save's encoding error (ErrInvalid)", reported)
	}
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d: the handler wrote nothing, so the error handler's reply goes out", resp.StatusCode)
	}
}

type parentKey struct{}

// TestMiddlewareContext: the handler's request context carries the session
// (FromRequest, FromContext), keeps the parent's values, deadline and
// cancellation, and a context derived from it is cancelled with the parent.
func TestMiddlewareContext(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, session.Config{})
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), parentKey{}, "parent value"))
	var derivedDone <-chan struct{}
	e.m.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s := session.FromRequest(r)
		if s == nil || session.FromContext(ctx) != s {
			t.Fatal("FromRequest and FromContext: want the request's session")
		}
		if v := ctx.Value(parentKey{}); v != "parent value" {
			t.Errorf("parent value %v, want %q", v, "parent value")
		}
		if got := session.FromContext(context.WithValue(ctx, parentKey{}, "child")); got != s {
			t.Error("a derived context lost the session")
		}
		if !strings.Contains(fmt.Sprint(ctx), "WithValue") {
			t.Errorf("String %q", fmt.Sprint(ctx))
		}
		derived, stop := context.WithCancel(ctx)
		t.Cleanup(stop)
		derivedDone = derived.Done()
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(parent))
	select {
	case <-derivedDone:
		t.Fatal("derived context done before the parent was cancelled")
	default:
	}
	cancel()
	select {
	case <-derivedDone:
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the request's context did not reach a context derived from the handler's")
	}
}
