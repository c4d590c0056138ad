package bench

import (
	"net/http"
	"testing"
)

// BenchmarkHTTPRoutes serves the HTTP table's routes in process (no
// sockets, no client): the server's own work per request, which the HTTP
// table's share depends on.
//
//	go test -run '^$' -bench HTTPRoutes -benchmem ./internal/bench
func BenchmarkHTTPRoutes(b *testing.B) {
	m, err := exampleManager()
	if err != nil {
		b.Fatal(err)
	}
	bare, withSession := httpHandlers(m)
	cookie, err := login(withSession)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, path string
		h          http.Handler
	}{
		{"bare", "/value", bare},
		{"value", "/value", withSession},
		{"typed", "/", withSession},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newClient(bc.h)
			c.base.URL.Path = bc.path
			c.setCookie(cookie)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.do(false); err != nil {
					b.Fatal(err)
				}
			}
			if n := len(c.w.h["Set-Cookie"]); n != 0 {
				b.Fatalf("a read sent %d Set-Cookie lines", n)
			}
		})
	}
}
