package fibersession_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"

	fibersession "github.com/sessiongo/session/adapters/fiberv3"
)

// lockedBuffer is a log destination that fiber's server goroutines write
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// bigSession returns a Manager with cookie storage and the Cookie header of
// its largest session: nine 4096-byte session cookies and nine remember
// cookies, with the data they hold.
func bigSession(t *testing.T, log *lockedBuffer) (*session.Manager, string, string) {
	t.Helper()
	m, err := session.New(session.Config{
		Secret:               "fiber read buffer test",
		Remember:             true,
		CompressionThreshold: -1,
		Logger:               slog.New(slog.NewTextHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 20250)
	rand.Read(raw)
	big := base64.RawURLEncoding.EncodeToString(raw) // 27000 bytes that do not compress
	cookie := conformance.SessionCookie(t, m, map[string]any{"big": big})
	for _, name := range []string{"session9=", "remember9="} {
		if !strings.Contains(cookie, name) {
			t.Fatalf("the test session has no %s cookie: %d bytes", strings.TrimSuffix(name, "="), len(cookie))
		}
	}
	return m, cookie, big
}

// TestReadBufferSize checks the middleware's check of the serving app's
// ReadBufferSize with cookie storage: a session of nine chunks and a
// remember cookie of nine more opens whole with ReadBufferSize; with less,
// every request through the middleware fails with a logged
// ErrInvalidConfig that names the fix, where fasthttp would answer such a
// session 431 before any handler (the last cases, without the middleware).
func TestReadBufferSize(t *testing.T) {
	log := &lockedBuffer{}
	m, bigCookie, big := bigSession(t, log)
	withStore, err := session.New(session.Config{Secret: "fiber read buffer test", Store: memoryStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	readBig := func(c fiber.Ctx) error {
		if got, _ := fibersession.From(c).Get("big").(string); got != big {
			return c.Status(http.StatusConflict).SendString("the session did not read back whole")
		}
		return c.SendString("ok")
	}
	small := fiber.New() // fiber's default: 4096 bytes
	raised := fiber.New()
	raised.Server().ReadBufferSize = fibersession.ReadBufferSize // after New, on the server itself
	parent := newApp()
	parent.Use("/sub", mountedApp(m, readBig)) // the sub-app's own default does not count: the parent serves it

	tests := []struct {
		name       string
		app        *fiber.App
		m          *session.Manager // nil: no middleware
		path       string
		cookie     string
		status     int
		configured bool // the log has the configuration error
	}{
		{"ReadBufferSize, the largest session", newApp(), m, "/", bigCookie, 200, false},
		{"raised on app.Server(), the largest session", raised, m, "/", bigCookie, 200, false},
		{"ReadBufferSize in the app that mounts the sub-app", parent, nil, "/sub/", bigCookie, 200, false},
		{"fiber's default", small, m, "/", "", 500, true},
		{"64 KiB", fiber.New(fiber.Config{ReadBufferSize: 64 << 10}), m, "/", "", 500, true},
		{"fiber's default, server-side store", fiber.New(), withStore, "/", "", 200, false},
		{"without the check: fiber's default, the largest session", fiber.New(), nil, "/", bigCookie, 431, false},
		{"without the check: 64 KiB, the largest session", fiber.New(fiber.Config{ReadBufferSize: 64 << 10}), nil, "/", bigCookie, 431, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(log.String())
			if tt.m != nil {
				tt.app.Use(fibersession.Middleware(tt.m))
				tt.app.Get("/", func(c fiber.Ctx) error {
					if tt.m == withStore {
						return c.SendString("ok")
					}
					return readBig(c)
				})
			} else if tt.app != parent {
				tt.app.Get("/", func(c fiber.Ctx) error { return c.SendString("no middleware") })
			}
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.cookie != "" {
				req.Header.Set("Cookie", tt.cookie)
			}
			var body string
			if tt.status == http.StatusRequestHeaderFieldsTooLarge {
				if !refused(t, tt.app, req) {
					return
				}
			} else {
				var resp *http.Response
				resp, body = do(t, tt.app, req)
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tt.status)
				}
			}
			logged := log.String()[before:]
			if tt.configured != strings.Contains(logged, "fibersession: fiber's ReadBufferSize is") {
				t.Errorf("log %q: the configuration error logged %v, want %v", logged, !tt.configured, tt.configured)
			}
			if tt.configured && (!strings.Contains(logged, "fiber.Config{ReadBufferSize: fibersession.ReadBufferSize}") || strings.Contains(body, "ReadBufferSize")) {
				t.Errorf("log %q, body %q: want the fix in the log, and not in the response", logged, body)
			}
		})
	}
}

// start serves f on a loopback listener until the test ends, and returns
// its URL.
func start(t *testing.T, f *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen(t, f, ln)
	return "http://" + ln.Addr().String() + "/"
}

// mountedApp returns a sub-app with fiber's default ReadBufferSize that
// reads the session with h.
func mountedApp(m *session.Manager, h fiber.Handler) *fiber.App {
	sub := fiber.New()
	sub.Use(fibersession.Middleware(m))
	sub.Get("/", h)
	return sub
}

// TestReadBufferSizeError checks the error the handler gets: it wraps
// session.ErrInvalidConfig, every request fails (not only the first), and
// one middleware in two apps checks each.
func TestReadBufferSizeError(t *testing.T) {
	m, err := session.New(session.Config{Secret: "fiber read buffer test"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []error
	mw := fibersession.Middleware(m, fibersession.WithErrorHandler(func(c fiber.Ctx, err error) error {
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
		return c.Status(http.StatusServiceUnavailable).SendString("misconfigured")
	}))
	small, big := fiber.New(), newApp()
	for _, app := range []*fiber.App{small, big} {
		app.Use(mw)
		app.Get("/", func(c fiber.Ctx) error { return c.SendString("ok") })
	}
	smallURL, bigURL := start(t, small), start(t, big)
	client := conformance.NewClient(t)
	for i, step := range []struct {
		url    string
		status int
	}{{smallURL, 503}, {bigURL, 200}, {smallURL, 503}, {smallURL, 503}, {bigURL, 200}} {
		resp, err := client.Get(step.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != step.status {
			t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, step.status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("the error handler ran %d times, want 3 (every request to the small app)", len(got))
	}
	for _, err := range got {
		if !errors.Is(err, session.ErrInvalidConfig) {
			t.Errorf("error %v, want ErrInvalidConfig", err)
		}
	}
}
