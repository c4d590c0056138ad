package session

import (
	"strings"
	"testing"
	"time"
)

func fuzzManager(t testing.TB, cfg Config) *Manager {
	cfg.Secret = "fuzz"
	cfg.Clock = func() time.Time { return time.Unix(1700000100, 0) }
	return mustNew(t, cfg)
}

// FuzzOpen feeds arbitrary Cookie headers to Open: it must never panic, and
// anything it accepts must have been made with the key.
func FuzzOpen(f *testing.F) {
	m := fuzzManager(f, Config{Remember: true, RememberSafety: "None"})
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		f.Fatal(err)
	}
	f.Add(joinCookies(r.setCookies))
	f.Add("session=" + strings.Repeat("A", 150))
	f.Add("session=AQAA; remember=; session2=x")
	f.Add("a=1, session =  x ; b")
	f.Fuzz(func(t *testing.T, header string) {
		s := m.NewSession(newRecorder(header))
		if err := s.Open(); err == nil {
			if s.Get("user") != "alice" {
				t.Fatalf("accepted a forged cookie: %q -> %v", header, s.Data())
			}
		}
	})
}

// FuzzChunked opens arbitrary chunk cookies next to a genuine first chunk.
func FuzzChunked(f *testing.F) {
	m := fuzzManager(f, Config{CompressionThreshold: -1})
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("blob", noise(6000))
	if err := s.Save(); err != nil {
		f.Fatal(err)
	}
	first, _, _ := strings.Cut(r.setCookies[0], ";")
	second, _, _ := strings.Cut(r.setCookies[1], ";")
	f.Add(second[len("session2="):])
	f.Add("")
	f.Fuzz(func(t *testing.T, chunk string) {
		s := m.NewSession(newRecorder(first + "; session2=" + chunk))
		if err := s.Open(); err == nil && s.Get("blob") == nil {
			t.Fatal("opened without data")
		}
	})
}

func FuzzStripCookies(f *testing.F) {
	f.Add("a=1; session=x; flag; session2=y; b=2", 2)
	f.Add(" ; ;=;session", 1)
	f.Fuzz(func(t *testing.T, header string, chunks int) {
		chunks = chunks%9 + 1
		out := stripCookies(header, "session", chunks)
		for _, pair := range strings.Split(out, ";") {
			name, _, hasValue := strings.Cut(pair, "=")
			if hasValue && isSessionCookie(trimBlank(name), "session", chunks) {
				t.Fatalf("stripCookies(%q, %d) kept %q: %q", header, chunks, pair, out)
			}
		}
	})
}

func FuzzDecodeEntries(f *testing.F) {
	f.Add([]byte(`[[{"user":"alice"},"default"]]`))
	f.Add([]byte(`[[{},"a","s"],[[],"b"]]`))
	f.Add([]byte(`[[null,"a",null]]`))
	f.Fuzz(func(t *testing.T, plaintext []byte) {
		entries, err := decodeEntries(plaintext)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.data == nil {
				t.Fatalf("entry without data map from %q", plaintext)
			}
		}
	})
}

func FuzzInflate(f *testing.F) {
	f.Add([]byte{0x4b, 0x4c, 0x4a, 0x06, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := inflate(data)
		if err == nil && len(out) > maxInflatedSize {
			t.Fatal("inflate exceeded its bound")
		}
	})
}
