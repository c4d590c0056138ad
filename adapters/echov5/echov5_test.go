package echosession_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"

	echosession "github.com/sessiongo/session/adapters/echov5"
)

// options maps the suite's neutral options to echosession's.
func options(o conformance.MiddlewareOptions) []echosession.Option {
	var opts []echosession.Option
	if o.OpenOnly {
		opts = append(opts, echosession.OpenOnly())
	}
	if o.SetHeaders {
		opts = append(opts, echosession.WithHeaders())
	}
	if o.ClearRequestCookie {
		opts = append(opts, echosession.WithClearRequestCookie())
	}
	if o.AutoSave {
		opts = append(opts, echosession.WithAutoSave())
	}
	return opts
}

// newEcho returns an echo instance whose error handler sends an error's
// text to the client (echo.DefaultHTTPErrorHandler(true)), so that the
// tests see any store error that would leak.
func newEcho() *echo.Echo {
	e := echo.New()
	e.Logger = slog.New(slog.DiscardHandler)
	e.HTTPErrorHandler = echo.DefaultHTTPErrorHandler(true)
	return e
}

func serve(t *testing.T, ln net.Listener, app *conformance.App) {
	e := newEcho()
	for _, mt := range app.Mounts {
		g := e.Group(mt.Prefix, echosession.Middleware(mt.Manager, options(mt.Options)...))
		g.Any("/*", func(c *echo.Context) error {
			app.Handler(echosession.From(c), conformance.HTTPRequest(c.Request()), c.Response())
			return nil
		})
	}
	conformance.ServeHTTP(t, ln, e)
}

func TestConformance(t *testing.T) {
	conformance.TestAdapter(t, serve, &conformance.AdapterOptions{
		NewStore: func(t *testing.T) session.Store { return memoryStore(t) },
	})
}

// opaqueWriter is another middleware's response writer that hides echo's
// *echo.Response: it flushes, but does not Unwrap.
type opaqueWriter struct{ http.ResponseWriter }

func (w *opaqueWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() } //nolint:errcheck // http.Flusher has no error

// TestEchoResponsePaths checks that the commit runs on each of echo's ways
// to send a response, with AutoSave, also behind another middleware's
// writer that hides echo's *echo.Response.
func TestEchoResponsePaths(t *testing.T) {
	m, err := session.New(session.Config{Secret: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		h      echo.HandlerFunc
		code   int
		unwrap bool // the handler needs echo.UnwrapResponse
	}{
		{"String", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") }, 200, false},
		{"JSON", func(c *echo.Context) error { return c.JSON(http.StatusCreated, map[string]bool{"ok": true}) }, 201, false},
		{"Redirect", func(c *echo.Context) error { return c.Redirect(http.StatusSeeOther, "/next") }, 303, false},
		{"NoContent", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) }, 204, false},
		{"Nothing written", func(c *echo.Context) error { return nil }, 200, false},
		{"Response().WriteHeader", func(c *echo.Context) error { c.Response().WriteHeader(http.StatusAccepted); return nil }, 202, false},
		{"Stream", func(c *echo.Context) error {
			return c.Stream(http.StatusOK, "text/plain", strings.NewReader("chunk"))
		}, 200, false},
		{"Flush first", func(c *echo.Context) error {
			c.Response().(http.Flusher).Flush()
			_, err := io.WriteString(c.Response(), "chunk")
			return err
		}, 200, false},
		{"ResponseController.Flush", func(c *echo.Context) error {
			return http.NewResponseController(c.Response()).Flush()
		}, 200, false},
		{"the writer beneath echo.Response", func(c *echo.Context) error {
			res, err := echo.UnwrapResponse(c.Response())
			if err != nil {
				return err
			}
			_, err = io.WriteString(res.ResponseWriter, "ok")
			return err
		}, 200, true},
		{"echo.Response.Flush first", func(c *echo.Context) error {
			res, err := echo.UnwrapResponse(c.Response())
			if err != nil {
				return err
			}
			res.Flush()
			_, err = io.WriteString(res, "chunk")
			return err
		}, 200, true},
		{"handler error", func(c *echo.Context) error {
			return echo.NewHTTPError(http.StatusTeapot, "no coffee")
		}, 418, false},
	}
	for _, opaque := range []bool{false, true} {
		for _, tt := range tests {
			if opaque && tt.unwrap {
				continue
			}
			name := tt.name
			if opaque {
				name += " behind an opaque writer"
			}
			t.Run(name, func(t *testing.T) {
				e := newEcho()
				if opaque {
					e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
						return func(c *echo.Context) error {
							c.SetResponse(&opaqueWriter{c.Response()})
							return next(c)
						}
					})
				}
				e.Use(echosession.Middleware(m, echosession.WithAutoSave()))
				e.GET("/", func(c *echo.Context) error {
					echosession.From(c).Set("n", 1)
					return tt.h(c)
				})
				srv := httptest.NewServer(e)
				defer srv.Close()
				resp, err := conformance.NewClient(t).Get(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.code {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.code)
				}
				if n := len(resp.Header.Values("Set-Cookie")); n != 1 {
					t.Errorf("%d Set-Cookie lines, want 1 (the auto-save before the headers)", n)
				}
			})
		}
	}
}

// errOutage names a host, as a store's error may: it must not reach the
// client.
var errOutage = errors.New("store unreachable at cache-7.internal")

func TestErrorHandler(t *testing.T) {
	store := conformance.NewFaultyStore(memoryStore(t))
	m, err := session.New(session.Config{Secret: "echo", Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Saved before the outage: opening it then reaches the failing store.
	cookie := conformance.SessionCookie(t, m, nil)
	store.FailAll(errOutage)

	tests := []struct {
		name    string
		opts    []echosession.Option
		cookie  bool
		write   bool
		status  int
		handler bool
	}{
		{"open fails, custom handler", []echosession.Option{echosession.WithErrorHandler(func(c *echo.Context, err error) error {
			if !errors.Is(err, session.ErrStore) || !errors.Is(err, errOutage) {
				t.Errorf("error handler got %v, want ErrStore wrapping the outage", err)
			}
			return c.String(http.StatusServiceUnavailable, "sessions are down")
		})}, true, false, 503, false},
		{"open fails, default handler", nil, true, false, 500, false},
		{"auto-save fails, default handler", []echosession.Option{echosession.WithAutoSave()}, false, false, 500, true},
		{"auto-save fails after the body", []echosession.Option{echosession.WithAutoSave()}, false, true, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			var handled error
			e := newEcho()
			exposing := e.HTTPErrorHandler
			e.HTTPErrorHandler = func(c *echo.Context, err error) {
				handled = err
				exposing(c, err)
			}
			e.Use(echosession.Middleware(m, tt.opts...))
			e.GET("/", func(c *echo.Context) error {
				called = true
				echosession.From(c).Set("x", 1)
				if tt.write {
					return c.String(http.StatusOK, "written")
				}
				return nil
			})
			req := httptest.NewRequest("GET", "/", nil)
			if tt.cookie {
				req.Header.Set("Cookie", cookie)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.status || called != tt.handler {
				t.Fatalf("status %d, handler called %v: want %d, %v", rec.Code, called, tt.status, tt.handler)
			}
			if strings.Contains(rec.Body.String(), "cache-7") {
				t.Errorf("the store's error reached the client: %q", rec.Body.String())
			}
			// The default handler hands echo's a 500 wrapping the outage;
			// the custom one answered itself.
			custom := tt.status == http.StatusServiceUnavailable
			if custom != (handled == nil) {
				t.Fatalf("echo's error handler got %v: want an error %v", handled, !custom)
			}
			if !custom && (echo.StatusCode(handled) != http.StatusInternalServerError || !errors.Is(handled, echo.ErrInternalServerError) || !errors.Is(handled, errOutage)) {
				t.Errorf("echo's error handler got %v (status %d), want a 500 wrapping echo.ErrInternalServerError and the outage", handled, echo.StatusCode(handled))
			}
		})
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
// (c.Request().Context()) finds the session From returns, with the subject
// set at login, and that the context the request had before the middleware
// is kept underneath.
func TestServiceContext(t *testing.T) {
	m, err := session.New(session.Config{Secret: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	type traceKey struct{}
	e := newEcho()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), traceKey{}, "t1")))
			return next(c)
		}
	})
	e.Use(echosession.Middleware(m))
	e.GET("/login", func(c *echo.Context) error {
		s := echosession.From(c)
		s.SetSubject("alice")
		return s.Save()
	})
	e.GET("/hello", func(c *echo.Context) error {
		ctx := c.Request().Context()
		if session.FromContext(ctx) != echosession.From(c) {
			t.Error("session.FromContext(c.Request().Context()) is not the session From(c) returns")
		}
		if ctx.Value(traceKey{}) != "t1" {
			t.Error("the middleware dropped the request's context")
		}
		return c.String(http.StatusOK, greeting(ctx))
	})

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	req := httptest.NewRequest("GET", "/hello", nil)
	req.AddCookie(cookies[0])
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if got := rec.Body.String(); got != "hello, alice" {
		t.Errorf("greeting(ctx) = %q, want %q", got, "hello, alice")
	}
}

func TestFromWithoutMiddleware(t *testing.T) {
	c := echo.New().NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())
	if s := echosession.From(c); s != nil {
		t.Fatal("From without the middleware: want nil")
	}
}

// BenchmarkEcho measures the session's overhead on an echo route: the bare
// handler, opening the session and reading a value, and opening, changing
// and saving it.
func BenchmarkEcho(b *testing.B) {
	m, err := session.New(session.Config{Secret: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	cookie := conformance.SessionCookie(b, m, map[string]any{"user": "alice"})

	bare := echo.New()
	bare.GET("/", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") })
	read := echo.New()
	read.Use(echosession.Middleware(m))
	read.GET("/", func(c *echo.Context) error {
		_ = echosession.From(c).Get("user")
		return c.String(http.StatusOK, "ok")
	})
	save := echo.New()
	save.Use(echosession.Middleware(m))
	save.GET("/", func(c *echo.Context) error {
		s := echosession.From(c)
		s.Set("n", 1)
		if err := s.Save(); err != nil {
			return err
		}
		return c.String(http.StatusOK, "ok")
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
