package session_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
)

// benchProfile is a signed-in user's profile, as the chi example keeps it.
type benchProfile struct {
	Name  string
	ID    int64
	Since time.Time
	Roles []string
}

// BenchmarkMiddlewareExample measures the net/http middleware with the chi
// example's setup (cookie storage, remember-me, revocation in a memory
// store; a signed-in session with a subject, a profile struct, a visit
// counter and a revocation key): the bare handler, opening the session and
// reading one value (Session.Get), and reading the example page's values
// typed (session.Get[T]). A read sends no Set-Cookie line.
func BenchmarkMiddlewareExample(b *testing.B) {
	revocations, err := session.NewMemoryStore()
	if err != nil {
		b.Fatal(err)
	}
	m, err := session.New(session.Config{Secret: "benchmark-secret", Remember: true, Revocation: revocations, DisableSecure: true})
	if err != nil {
		b.Fatal(err)
	}
	mw := m.Middleware()
	w := httptest.NewRecorder()
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		s.SetSubject("alice")
		s.SetRemember(true)
		s.SetRevocationKeys("login:bench")
		s.Set("profile", benchProfile{Name: "Alice Archer", ID: 9007199254740993, Since: time.Unix(1552568966, 535897932), Roles: []string{"admin", "editor"}})
		s.Set("visits", int64(0))
		if err := s.Renew(); err != nil {
			b.Fatal(err)
		}
	})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	var cookie string
	for _, c := range w.Result().Cookies() {
		if cookie != "" {
			cookie += "; "
		}
		cookie += c.Name + "=" + c.Value
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	value := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		if s.Subject() != "alice" || s.Get("visits") != 0.0 {
			b.Fatal("the session did not open")
		}
		io.WriteString(w, "ok")
	})
	typed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		p, err := session.Get[benchProfile](s, "profile")
		if err != nil || p.Name != "Alice Archer" {
			b.Fatal("profile:", err)
		}
		if _, err := session.Get[int64](s, "visits"); err != nil {
			b.Fatal("visits:", err)
		}
		io.WriteString(w, "ok")
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"open+read", mw(value)}, {"open+typed", mw(typed)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", cookie)
			h := http.Header{}
			for b.Loop() {
				clear(h)
				bc.h.ServeHTTP(headerWriter{h}, r)
			}
			if len(h["Set-Cookie"]) != 0 {
				b.Fatalf("a read sent Set-Cookie %q", h["Set-Cookie"])
			}
		})
	}
}

// headerWriter is a ResponseWriter that keeps the header and discards the
// body.
type headerWriter struct{ h http.Header }

func (w headerWriter) Header() http.Header         { return w.h }
func (w headerWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w headerWriter) WriteHeader(int)             {}
