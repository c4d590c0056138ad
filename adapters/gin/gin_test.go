package ginsession_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"

	ginsession "github.com/sessiongo/session/adapters/gin"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// options maps the suite's neutral options to ginsession's.
func options(o conformance.MiddlewareOptions) []ginsession.Option {
	var opts []ginsession.Option
	if o.OpenOnly {
		opts = append(opts, ginsession.OpenOnly())
	}
	if o.SetHeaders {
		opts = append(opts, ginsession.WithHeaders())
	}
	if o.ClearRequestCookie {
		opts = append(opts, ginsession.WithClearRequestCookie())
	}
	if o.AutoSave {
		opts = append(opts, ginsession.WithAutoSave())
	}
	return opts
}

func serve(t *testing.T, ln net.Listener, app *conformance.App) {
	r := gin.New()
	for _, mt := range app.Mounts {
		g := r.Group(mt.Prefix, ginsession.Middleware(mt.Manager, options(mt.Options)...))
		g.Any("/*op", func(c *gin.Context) {
			app.Handler(ginsession.From(c), conformance.HTTPRequest(c.Request), c.Writer)
		})
	}
	conformance.ServeHTTP(t, ln, r)
}

func TestConformance(t *testing.T) {
	conformance.TestAdapter(t, serve, &conformance.AdapterOptions{
		NewStore: func(t *testing.T) session.Store { return memoryStore(t) },
	})
}

// TestGinResponsePaths checks that the commit runs on each of gin's ways to
// send a response, with AutoSave.
func TestGinResponsePaths(t *testing.T) {
	m, err := session.New(session.Config{Secret: "gin"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		h    gin.HandlerFunc
		code int
	}{
		{"String", func(c *gin.Context) { c.String(http.StatusOK, "ok") }, 200},
		{"JSON", func(c *gin.Context) { c.JSON(http.StatusCreated, gin.H{"ok": true}) }, 201},
		{"Redirect", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/next") }, 303},
		{"AbortWithStatus", func(c *gin.Context) { c.AbortWithStatus(http.StatusNoContent) }, 204},
		{"Status only", func(c *gin.Context) { c.Status(http.StatusAccepted) }, 202},
		{"Writer.WriteString", func(c *gin.Context) { c.Writer.WriteString("ok") }, 200},
		{"Stream", func(c *gin.Context) {
			c.Stream(func(w io.Writer) bool { io.WriteString(w, "chunk"); return false })
		}, 200},
		{"ResponseController.Flush", func(c *gin.Context) {
			if err := http.NewResponseController(c.Writer).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			r.Use(ginsession.Middleware(m, ginsession.WithAutoSave()))
			r.GET("/", func(c *gin.Context) {
				ginsession.From(c).Set("n", 1)
				tt.h(c)
			})
			srv := httptest.NewServer(r)
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

var errOutage = errors.New("store unreachable")

func TestErrorHandler(t *testing.T) {
	store := conformance.NewFaultyStore(memoryStore(t))
	m, err := session.New(session.Config{Secret: "gin", Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Saved before the outage: opening it then reaches the failing store.
	cookie := conformance.SessionCookie(t, m, nil)
	store.FailAll(errOutage)

	tests := []struct {
		name    string
		opts    []ginsession.Option
		cookie  bool
		status  int
		handler bool
	}{
		{"open fails, custom handler", []ginsession.Option{ginsession.WithErrorHandler(func(c *gin.Context, err error) {
			if !errors.Is(err, session.ErrStore) || !errors.Is(err, errOutage) {
				t.Errorf("error handler got %v, want ErrStore wrapping the outage", err)
			}
			c.String(http.StatusServiceUnavailable, "sessions are down")
		})}, true, 503, false},
		{"open fails, default handler", nil, true, 500, false},
		{"auto-save fails, default handler", []ginsession.Option{ginsession.WithAutoSave()}, false, 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			r := gin.New()
			r.Use(ginsession.Middleware(m, tt.opts...))
			r.GET("/", func(c *gin.Context) {
				called = true
				ginsession.From(c).Set("x", 1)
			})
			req := httptest.NewRequest("GET", "/", nil)
			if tt.cookie {
				req.Header.Set("Cookie", cookie)
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tt.status || called != tt.handler {
				t.Fatalf("status %d, handler called %v: want %d, %v", rec.Code, called, tt.status, tt.handler)
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
// finds the session From returns, with the subject set at login: through
// c.Request.Context(), and through the gin context itself when the engine
// has ContextWithFallback.
func TestServiceContext(t *testing.T) {
	m, err := session.New(session.Config{Secret: "gin"})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.ContextWithFallback = true
	r.Use(ginsession.Middleware(m))
	r.GET("/login", func(c *gin.Context) {
		s := ginsession.From(c)
		s.SetSubject("alice")
		if err := s.Save(); err != nil {
			t.Error(err)
		}
	})
	r.GET("/request-context", func(c *gin.Context) {
		if session.FromContext(c.Request.Context()) != ginsession.From(c) {
			t.Error("session.FromContext(c.Request.Context()) is not the session From(c) returns")
		}
		c.String(http.StatusOK, greeting(c.Request.Context()))
	})
	r.GET("/gin-context", func(c *gin.Context) { c.String(http.StatusOK, greeting(c)) })

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	for _, name := range []string{"request-context", "gin-context"} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/"+name, nil)
			req.AddCookie(cookies[0])
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if got := rec.Body.String(); got != "hello, alice" {
				t.Errorf("greeting(ctx) = %q, want %q", got, "hello, alice")
			}
		})
	}
}

func TestFromWithoutMiddleware(t *testing.T) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	if s := ginsession.From(c); s != nil {
		t.Fatal("From without the middleware: want nil")
	}
}

// BenchmarkGin measures the session's overhead on a gin route: the bare
// handler, opening the session and reading a value, and opening, changing
// and saving it.
func BenchmarkGin(b *testing.B) {
	m, err := session.New(session.Config{Secret: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	cookie := conformance.SessionCookie(b, m, map[string]any{"user": "alice"})

	bare := gin.New()
	bare.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	read := gin.New()
	read.Use(ginsession.Middleware(m))
	read.GET("/", func(c *gin.Context) {
		_ = ginsession.From(c).Get("user")
		c.String(http.StatusOK, "ok")
	})
	save := gin.New()
	save.Use(ginsession.Middleware(m))
	save.GET("/", func(c *gin.Context) {
		s := ginsession.From(c)
		s.Set("n", 1)
		if err := s.Save(); err != nil {
			b.Error(err)
		}
		c.String(http.StatusOK, "ok")
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
