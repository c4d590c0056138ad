package chisession_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"

	chisession "github.com/sessiongo/session/adapters/chi"
)

// options maps the suite's neutral options to chisession's.
func options(o conformance.MiddlewareOptions) []chisession.Option {
	var opts []chisession.Option
	if o.OpenOnly {
		opts = append(opts, chisession.OpenOnly())
	}
	if o.SetHeaders {
		opts = append(opts, chisession.WithHeaders())
	}
	if o.ClearRequestCookie {
		opts = append(opts, chisession.WithClearRequestCookie())
	}
	if o.AutoSave {
		opts = append(opts, chisession.WithAutoSave())
	}
	return opts
}

func serve(t *testing.T, ln net.Listener, app *conformance.App) {
	r := chi.NewRouter()
	for _, mt := range app.Mounts {
		r.Route(mt.Prefix, func(r chi.Router) {
			r.Use(chisession.Middleware(mt.Manager, options(mt.Options)...))
			r.HandleFunc("/*", func(w http.ResponseWriter, r *http.Request) {
				app.Handler(chisession.From(r), conformance.HTTPRequest(r), w)
			})
		})
	}
	conformance.ServeHTTP(t, ln, r)
}

func TestConformance(t *testing.T) {
	conformance.TestAdapter(t, serve, &conformance.AdapterOptions{
		NewStore: func(t *testing.T) session.Store { return memoryStore(t) },
	})
}

var errOutage = errors.New("store unreachable")

func TestErrorHandler(t *testing.T) {
	store := conformance.NewFaultyStore(memoryStore(t))
	m, err := session.New(session.Config{Secret: "chi", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	// Saved before the outage: opening it then reaches the failing store.
	cookie := conformance.SessionCookie(t, m, nil)
	store.FailAll(errOutage)

	var got error
	called := false
	r := chi.NewRouter()
	r.Use(chisession.Middleware(m, chisession.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "sessions are down", http.StatusServiceUnavailable)
	})))
	r.Get("/", func(w http.ResponseWriter, r *http.Request) { called = true })
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || called {
		t.Fatalf("status %d, handler called %v: want 503 from the error handler and no handler", rec.Code, called)
	}
	if !errors.Is(got, session.ErrStore) || !errors.Is(got, errOutage) {
		t.Fatalf("error handler got %v, want ErrStore wrapping the outage", got)
	}
}

// greeting is service code: it takes only a context.Context, and reads the
// request's session through session.FromContext.
func greeting(ctx context.Context) string {
	s := session.FromContext(ctx)
	if s == nil {
		return "no session"
	}
	return "hello, " + s.Subject()
}

// TestServiceContext checks that service code handed the request's context
// (r.Context()) finds the session From returns, with the subject set at
// login.
func TestServiceContext(t *testing.T) {
	m, err := session.New(session.Config{Secret: "chi"})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(chisession.Middleware(m))
	r.Get("/login", func(w http.ResponseWriter, r *http.Request) {
		s := chisession.From(r)
		s.SetSubject("alice")
		if err := s.Save(); err != nil {
			t.Error(err)
		}
	})
	r.Get("/hello", func(w http.ResponseWriter, r *http.Request) {
		if session.FromContext(r.Context()) != chisession.From(r) {
			t.Error("session.FromContext(r.Context()) is not the session From(r) returns")
		}
		io.WriteString(w, greeting(r.Context()))
	})

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	req := httptest.NewRequest("GET", "/hello", nil)
	req.AddCookie(cookies[0])
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if got := rec.Body.String(); got != "hello, alice" {
		t.Errorf("greeting(ctx) = %q, want %q", got, "hello, alice")
	}
}

func TestFromWithoutMiddleware(t *testing.T) {
	if s := chisession.From(httptest.NewRequest("GET", "/", nil)); s != nil {
		t.Fatal("From without the middleware: want nil")
	}
}

// BenchmarkChi measures the session's overhead on a chi route: the bare
// handler, opening the session and reading a value, and opening, changing
// and saving it.
func BenchmarkChi(b *testing.B) {
	m, err := session.New(session.Config{Secret: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	cookie := conformance.SessionCookie(b, m, map[string]any{"user": "alice"})

	bare := chi.NewRouter()
	bare.Get("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	read := chi.NewRouter()
	read.Use(chisession.Middleware(m))
	read.Get("/", func(w http.ResponseWriter, r *http.Request) {
		_ = chisession.From(r).Get("user")
		io.WriteString(w, "ok")
	})
	save := chi.NewRouter()
	save.Use(chisession.Middleware(m))
	save.Get("/", func(w http.ResponseWriter, r *http.Request) {
		s := chisession.From(r)
		s.Set("n", 1)
		if err := s.Save(); err != nil {
			b.Error(err)
		}
		io.WriteString(w, "ok")
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"open+read", read}, {"open+modify+save", save}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", cookie)
			for b.Loop() {
				bc.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

// memoryStore returns a memory store for one test.
func memoryStore(t *testing.T) *session.MemoryStore {
	t.Helper()
	st, err := session.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	return st
}
