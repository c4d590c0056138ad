package session_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// BenchmarkOpenReadRevocation is BenchmarkOpenRead with revocation on,
// beside the same work without it, in one run: "off" is the baseline,
// "cache_hit" the usual case with RevocationCacheTTL (the session id, the
// subject and a revocation key answered from the cache), "cache_miss" a
// lookup in a MemoryStore on every open (no cache), which shows the cost
// of hashing the keys and of the backend call itself. Compare cache_hit
// with off: the target is within 10%.
func BenchmarkOpenReadRevocation(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  session.Config
	}{
		{"off", session.Config{}},
		{"cache_hit", session.Config{Revocation: newRevocationBackend(), RevocationCacheTTL: time.Hour}},
		{"cache_miss", session.Config{Revocation: newRevocationBackend()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := benchManager(b, bc.cfg)
			r := revocationCookieRequest(b, m)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				s := m.NewSession(adapter.NewHTTP(w, r))
				if err := s.Open(); err != nil || s.Get("user") != "alice" {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenReadRevocationRatio opens the same session alternately
// without revocation and with revocation and a cache hit, timing each open,
// so that both see the same machine load; it reports the two times per
// open and their ratio (target: at most 1.1). The two sessions carry the
// same data, subject and revocation key.
func BenchmarkOpenReadRevocationRatio(b *testing.B) {
	type side struct {
		m *session.Manager
		r *http.Request
		d time.Duration
	}
	sides := [2]*side{{}, {}}
	for i, cfg := range []session.Config{{}, {Revocation: newRevocationBackend(), RevocationCacheTTL: time.Hour}} {
		sides[i].m = benchManager(b, cfg)
		sides[i].r = revocationCookieRequest(b, sides[i].m)
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for k := range sides {
			sd := sides[(k+n)%2] // each goes first every other time
			start := time.Now()
			s := sd.m.NewSession(adapter.NewHTTP(w, sd.r))
			if err := s.Open(); err != nil || s.Get("user") != "alice" {
				b.Fatal(err)
			}
			sd.d += time.Since(start)
		}
		n++
	}
	off, hit := float64(sides[0].d)/float64(n), float64(sides[1].d)/float64(n)
	b.ReportMetric(off, "off-ns/open")
	b.ReportMetric(hit, "hit-ns/open")
	b.ReportMetric(hit/off, "ratio")
}

// newRevocationBackend is the one place the revocation benchmarks make
// their backend.
func newRevocationBackend() *session.MemoryStore {
	st, err := session.NewMemoryStore()
	if err != nil {
		panic(err)
	}
	return st
}

// revocationCookieRequest returns a request carrying a signed-in session
// of smallData with one revocation key.
func revocationCookieRequest(b *testing.B, m *session.Manager) *http.Request {
	b.Helper()
	w := &discard{h: http.Header{}}
	r, _ := http.NewRequest("GET", "http://example.com/", nil)
	s := m.NewSession(adapter.NewHTTP(w, r))
	s.SetData(smallData)
	s.SetSubject("alice")
	s.SetRevocationKeys("sid:https://idp.example#8f2c")
	if err := s.Save(); err != nil {
		b.Fatal(err)
	}
	var pairs []string
	for _, line := range w.h["Set-Cookie"] {
		pair, _, _ := strings.Cut(line, ";")
		pairs = append(pairs, pair)
	}
	r.Header.Set("Cookie", strings.Join(pairs, "; "))
	return r
}
