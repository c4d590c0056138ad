package fibersession_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
	"github.com/valyala/fasthttp"

	fibersession "github.com/sessiongo/session/adapters/fiber"
)

// options maps the suite's neutral options to fibersession's.
func options(o conformance.MiddlewareOptions) []fibersession.Option {
	var opts []fibersession.Option
	if o.OpenOnly {
		opts = append(opts, fibersession.OpenOnly())
	}
	if o.SetHeaders {
		opts = append(opts, fibersession.WithHeaders())
	}
	if o.ClearRequestCookie {
		opts = append(opts, fibersession.WithClearRequestCookie())
	}
	if o.AutoSave {
		opts = append(opts, fibersession.WithAutoSave())
	}
	return opts
}

// newApp returns a fiber app that reads request headers into
// fibersession.ReadBufferSize bytes, as the middleware asks for cookie
// storage.
func newApp() *fiber.App {
	return fiber.New(fiber.Config{ReadBufferSize: fibersession.ReadBufferSize, DisableStartupMessage: true})
}

func serve(t *testing.T, ln net.Listener, app *conformance.App) {
	f := newApp()
	for _, mt := range app.Mounts {
		g := f.Group(mt.Prefix, fibersession.Middleware(mt.Manager, options(mt.Options)...))
		g.All("/*", func(c *fiber.Ctx) error {
			w := &responseWriter{c: c, h: http.Header{}}
			app.Handler(fibersession.From(c), request(c), w)
			return nil
		})
	}
	listen(t, f, ln)
}

// listen serves f on ln until the test ends.
func listen(t *testing.T, f *fiber.App, ln net.Listener) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Listener(ln) //nolint:errcheck // closed at cleanup
	}()
	t.Cleanup(func() {
		if err := f.ShutdownWithTimeout(time.Minute); err != nil {
			t.Errorf("shutting fiber down: %v", err)
		}
		ln.Close() // in case Serve had not started: fiber's Shutdown then misses it
		<-done
	})
}

// request describes c's request for the suite, copying what fasthttp
// would reuse; its Context is fiber's user context, the one handlers pass
// to service code.
func request(c *fiber.Ctx) *conformance.Request {
	r := &conformance.Request{
		Method:  utils.CopyString(c.Method()),
		Path:    utils.CopyString(c.Path()),
		Header:  http.Header{},
		Context: c.UserContext(),
	}
	r.Query, _ = url.ParseQuery(string(c.Request().URI().QueryString()))
	c.Request().Header.VisitAll(func(k, v []byte) {
		r.Header.Add(string(k), string(v))
	})
	return r
}

// responseWriter is an http.ResponseWriter over fiber's response, for the
// suite's handler: the headers are copied to fiber's response with the
// status, and the body goes to c.Write.
type responseWriter struct {
	c     *fiber.Ctx
	h     http.Header
	wrote bool
}

func (w *responseWriter) Header() http.Header { return w.h }

func (w *responseWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	for k, vs := range w.h {
		w.c.Response().Header.Del(k)
		for _, v := range vs {
			w.c.Response().Header.Add(k, v)
		}
	}
	w.c.Status(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.c.Write(p)
}

func TestConformance(t *testing.T) {
	conformance.TestAdapter(t, serve, &conformance.AdapterOptions{
		NewStore: func(t *testing.T) session.Store { return memoryStore(t) },
	})
}

// do serves one request on f over loopback and returns the response, its
// body read; the client checks the Set-Cookie lines as the suite does.
func do(t *testing.T, f *fiber.App, req *http.Request) (*http.Response, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen(t, f, ln)
	req.URL.Scheme, req.URL.Host, req.RequestURI = "http", ln.Addr().String(), ""
	resp, body, err := roundTrip(t, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// roundTrip sends req and reads the whole response.
func roundTrip(t *testing.T, req *http.Request) (*http.Response, string, error) {
	t.Helper()
	resp, err := conformance.NewClient(t).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// refused serves one request on f over loopback and reports whether the
// server refused it before any handler ran: a 431, or, as fasthttp closes
// the connection while the client may still be writing a request that
// large, a broken connection (the 431 is then lost to the reset). A
// response from a handler is a failure of the test.
func refused(t *testing.T, f *fiber.App, req *http.Request) bool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen(t, f, ln)
	req.URL.Scheme, req.URL.Host, req.RequestURI = "http", ln.Addr().String(), ""
	resp, body, err := roundTrip(t, req)
	if err != nil {
		t.Logf("connection broken by the server: %v", err)
		return true
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d (%q), want 431 or a broken connection", resp.StatusCode, body)
		return false
	}
	return true
}

// TestFiberResponsePaths checks that the commit reaches the client on each
// of fiber's ways to send a response, with AutoSave, and that a session
// cookie the handler set itself with fiber's c.Cookie never makes a second
// Set-Cookie line.
func TestFiberResponsePaths(t *testing.T) {
	m, err := session.New(session.Config{Secret: "fiber"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		h    fiber.Handler
		code int
	}{
		{"SendString", func(c *fiber.Ctx) error { return c.SendString("ok") }, 200},
		{"JSON", func(c *fiber.Ctx) error { return c.Status(http.StatusCreated).JSON(fiber.Map{"ok": true}) }, 201},
		{"Redirect", func(c *fiber.Ctx) error { return c.Redirect("/next", http.StatusSeeOther) }, 303},
		{"SendStatus", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }, 204},
		{"Nothing written", func(c *fiber.Ctx) error { return nil }, 200},
		{"SendStream", func(c *fiber.Ctx) error { return c.SendStream(strings.NewReader("chunk")) }, 200},
		{"SetBodyStreamWriter", func(c *fiber.Ctx) error {
			c.Context().SetBodyStreamWriter(func(w *bufio.Writer) { w.WriteString("chunk") }) //nolint:errcheck // test body
			return nil
		}, 200},
		{"handler error", func(c *fiber.Ctx) error { return fiber.NewError(http.StatusTeapot, "no coffee") }, 418},
		{"c.Cookie with the session's name", func(c *fiber.Ctx) error {
			c.Cookie(&fiber.Cookie{Name: "session", Value: "handler"})
			return c.SendString("ok")
		}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newApp()
			f.Use(fibersession.Middleware(m, fibersession.WithAutoSave()))
			f.Get("/", func(c *fiber.Ctx) error {
				fibersession.From(c).Set("n", 1)
				return tt.h(c)
			})
			resp, _ := do(t, f, httptest.NewRequest("GET", "/", nil))
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.code)
			}
			lines := resp.Header.Values("Set-Cookie")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "session=") || strings.HasPrefix(lines[0], "session=handler") {
				t.Errorf("Set-Cookie %q, want one line: core's session cookie (the auto-save)", lines)
			}
		})
	}
}

// TestExchange checks the Exchange against fasthttp's header handling:
// several Cookie lines, a Cookie header replaced or removed (fasthttp's Set
// would add cookies), the client's address without a port, and Set-Cookie
// lines replaced in place.
func TestExchange(t *testing.T) {
	var got struct {
		cookies, ua, addr, scheme, after string
		afterDel                         string
	}
	f := newApp()
	f.Get("/", func(c *fiber.Ctx) error {
		ex := fibersession.NewExchange(c)
		got.cookies, got.ua, got.addr, got.scheme = ex.Cookies(), ex.UserAgent(), ex.RemoteAddr(), ex.Scheme()
		ex.SetRequestHeader("Cookie", "other=1")
		got.after = string(c.Request().Header.Peek("Cookie"))
		ex.DelRequestHeader("Cookie")
		got.afterDel = string(c.Request().Header.Peek("Cookie"))
		ex.SetCookie("a", "a=1; Path=/")
		ex.SetCookie("b", "b=1; Path=/")
		ex.SetCookie("a", "a=2; Path=/; HttpOnly")
		ex.SetResponseHeader("Session-Id", "x")
		ex.Flush()
		return c.SendString("ok")
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Add("Cookie", "session=abc; x=1")
	req.Header.Add("Cookie", "y=2")
	req.Header.Set("User-Agent", "ua/1")
	resp, _ := do(t, f, req)

	checks := []struct{ name, got, want string }{
		{"Cookies", got.cookies, "session=abc; x=1; y=2"},
		{"UserAgent", got.ua, "ua/1"},
		{"RemoteAddr", got.addr, "127.0.0.1"},
		{"Scheme", got.scheme, "http"},
		{"Cookie after SetRequestHeader", got.after, "other=1"},
		{"Cookie after DelRequestHeader", got.afterDel, ""},
		{"Set-Cookie", strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "a=2; Path=/; HttpOnly\nb=1; Path=/"},
		{"Session-Id", resp.Header.Get("Session-Id"), "x"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		})
	}
}

var errOutage = errors.New("store unreachable")

func TestErrorHandler(t *testing.T) {
	store := conformance.NewFaultyStore(memoryStore(t))
	m, err := session.New(session.Config{Secret: "fiber", Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Saved before the outage: opening it then reaches the failing store.
	cookie := conformance.SessionCookie(t, m, nil)
	store.FailAll(errOutage)

	tests := []struct {
		name    string
		opts    []fibersession.Option
		cookie  bool
		status  int
		body    string
		handler bool
	}{
		{"open fails, custom handler", []fibersession.Option{fibersession.WithErrorHandler(func(c *fiber.Ctx, err error) error {
			if !errors.Is(err, session.ErrStore) || !errors.Is(err, errOutage) {
				t.Errorf("error handler got %v, want ErrStore wrapping the outage", err)
			}
			return c.Status(http.StatusServiceUnavailable).SendString("sessions are down")
		})}, true, 503, "sessions are down", false},
		{"open fails, default handler", nil, true, 500, "Internal Server Error", false},
		{"auto-save fails, default handler", []fibersession.Option{fibersession.WithAutoSave()}, false, 500, "Internal Server Error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			var handled error
			f := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
				handled = err
				return fiber.DefaultErrorHandler(c, err)
			}})
			f.Use(fibersession.Middleware(m, tt.opts...))
			f.Get("/", func(c *fiber.Ctx) error {
				called = true
				fibersession.From(c).Set("x", 1)
				return c.SendString("handler")
			})
			req := httptest.NewRequest("GET", "/", nil)
			if tt.cookie {
				req.Header.Set("Cookie", cookie)
			}
			resp, body := do(t, f, req)
			if resp.StatusCode != tt.status || body != tt.body || called != tt.handler {
				t.Fatalf("status %d, body %q, handler called %v: want %d, %q, %v", resp.StatusCode, body, called, tt.status, tt.body, tt.handler)
			}
			var fe *fiber.Error
			if handled != nil && (!errors.Is(handled, errOutage) || !errors.As(handled, &fe)) {
				t.Errorf("the app's ErrorHandler got %v, want a *fiber.Error wrapping the outage", handled)
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

// TestServiceContext checks that service code handed fiber's user context
// (c.UserContext()) finds the session From returns, with the subject set at
// login, and that the user context the app had before the middleware is
// kept underneath.
func TestServiceContext(t *testing.T) {
	m, err := session.New(session.Config{Secret: "fiber"})
	if err != nil {
		t.Fatal(err)
	}
	type traceKey struct{}
	f := newApp()
	f.Use(func(c *fiber.Ctx) error {
		c.SetUserContext(context.WithValue(c.UserContext(), traceKey{}, "t1"))
		return c.Next()
	})
	f.Use(fibersession.Middleware(m))
	f.Get("/login", func(c *fiber.Ctx) error {
		s := fibersession.From(c)
		s.SetSubject("alice")
		return s.Save()
	})
	f.Get("/hello", func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		if session.FromContext(ctx) != fibersession.From(c) {
			t.Error("session.FromContext(c.UserContext()) is not the session From(c) returns")
		}
		if ctx.Value(traceKey{}) != "t1" {
			t.Error("the middleware dropped the user context set before it")
		}
		return c.SendString(greeting(ctx))
	})

	resp, _ := do(t, f, httptest.NewRequest("GET", "/login", nil))
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	req := httptest.NewRequest("GET", "/hello", nil)
	req.AddCookie(cookies[0])
	if _, body := do(t, f, req); body != "hello, alice" {
		t.Errorf("greeting(ctx) = %q, want %q", body, "hello, alice")
	}
}

func TestFromWithoutMiddleware(t *testing.T) {
	f := newApp()
	c := f.AcquireCtx(&fasthttp.RequestCtx{})
	defer f.ReleaseCtx(c)
	if s := fibersession.From(c); s != nil {
		t.Fatal("From without the middleware: want nil")
	}
}

// BenchmarkFiber measures the session's overhead on a fiber route: the bare
// handler, opening the session and reading a value, and opening, changing
// and saving it.
func BenchmarkFiber(b *testing.B) {
	m, err := session.New(session.Config{Secret: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	cookie := conformance.SessionCookie(b, m, map[string]any{"user": "alice"})

	bare := newApp()
	bare.Get("/", func(c *fiber.Ctx) error { return c.SendString("ok") })
	read := newApp()
	read.Use(fibersession.Middleware(m))
	read.Get("/", func(c *fiber.Ctx) error {
		_ = fibersession.From(c).Get("user")
		return c.SendString("ok")
	})
	save := newApp()
	save.Use(fibersession.Middleware(m))
	save.Get("/", func(c *fiber.Ctx) error {
		s := fibersession.From(c)
		s.Set("n", 1)
		if err := s.Save(); err != nil {
			return err
		}
		return c.SendString("ok")
	})
	for _, bc := range []struct {
		name string
		app  *fiber.App
	}{{"bare", bare}, {"open+read", read}, {"open+modify+save", save}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			h := bc.app.Handler()
			var req fasthttp.Request
			req.Header.SetMethod("GET")
			req.SetRequestURI("/")
			req.Header.Set("Cookie", cookie)
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
			for b.Loop() {
				h(&ctx)
				if ctx.Response.StatusCode() != http.StatusOK {
					b.Fatalf("status %d", ctx.Response.StatusCode())
				}
				ctx.Response.Reset()
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
