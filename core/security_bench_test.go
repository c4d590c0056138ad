package session

import (
	"strings"
	"testing"
)

// Benchmarks of the work done before a request is authenticated: what a
// client can make the server spend with a request it can forge or replay.

// BenchmarkCookieHeader opens a session from a normal Cookie header and
// from a hostile 1 MB one made of separators (the session cookie last).
func BenchmarkCookieHeader(b *testing.B) {
	m := mustNew(b, Config{Secret: "benchmark secret, long enough"})
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		b.Fatal(err)
	}
	session := joinCookies(r.setCookies)
	for _, bc := range []struct{ name, header string }{
		{"normal", "_ga=GA1.2.1234567890.1234567890; theme=dark; lang=en; " + session + "; csrf=abcdef0123456789"},
		{"hostile-1MB-semicolons", strings.Repeat(";", 1<<20) + session},
		{"hostile-1MB-commas", strings.Repeat(",", 1<<20) + session},
		{"hostile-1MB-pairs", strings.Repeat("a=b;", 1<<18) + session},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ex := newRecorder(bc.header)
			for b.Loop() {
				s := m.NewSession(ex)
				s.Open() //nolint:errcheck // the hostile headers may fail
			}
		})
	}
}

// BenchmarkRememberReplay replays one remember cookie (without a session
// cookie) at the default RememberSafety (PBKDF2, 10000 iterations): "open"
// only verifies and decrypts it, "restore" is a whole Open, which also
// issues a new remember cookie (and derives its key) as the reference does.
func BenchmarkRememberReplay(b *testing.B) {
	m := mustNew(b, Config{Secret: "benchmark secret, long enough", Remember: true})
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		b.Fatal(err)
	}
	var remember string
	for _, line := range r.setCookies {
		if strings.HasPrefix(line, "remember=") {
			remember, _, _ = strings.Cut(line, ";")
		}
	}
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := m.NewSession(newRecorder(remember))
			if err, _ := s.open(true, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("restore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := m.NewSession(newRecorder(remember))
			if err := s.Open(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
