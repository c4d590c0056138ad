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
// The data just overflows one cookie, so the seed chunk stays small (a few
// hundred bytes) and the fuzzer fast.
func FuzzChunked(f *testing.F) {
	m := fuzzManager(f, Config{CompressionThreshold: -1})
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("blob", noise(3100))
	if err := s.Save(); err != nil {
		f.Fatal(err)
	}
	if len(r.setCookies) != 2 {
		f.Fatalf("the seed session takes %d cookies, want 2", len(r.setCookies))
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

// FuzzStripCookies checks that what stripCookies leaves holds no cookie
// that Open would read as the session cookie or one of its chunks, and
// that it writes the other cookies back as the reference did (legacy) on
// the headers the reference's tokenizer reads the same way.
func FuzzStripCookies(f *testing.F) {
	f.Add("a=1; session=x; flag; session2=y; b=2", 2)
	f.Add(" ; ;=;session", 1)
	f.Add("a=1, SESSION=x ,b = 2", 1)
	f.Fuzz(func(t *testing.T, header string, chunks int) {
		chunks = (chunks%9+9)%9 + 1
		out := stripCookies(header, "session", chunks)
		jar := readCookies(out, [2]string{"session", "remember"})
		for i := 1; i <= chunks; i++ {
			if v, ok := jar.get(0, i); ok {
				t.Fatalf("stripCookies(%q, %d) = %q: chunk %d (%q) is still readable", header, chunks, out, i, v)
			}
		}
		// The reference split on ';' only, compared names exactly and read
		// a final '=' as a value-less token.
		lower := strings.ToLower(header)
		if !strings.Contains(header, ",") && !strings.HasSuffix(header, "=") &&
			strings.Count(lower, "session") == strings.Count(header, "session") {
			if want := legacyStripCookies(header, "session", chunks); out != want {
				t.Fatalf("stripCookies(%q, %d) = %q, the reference's tokenizer wrote %q", header, chunks, out, want)
			}
		}
	})
}

// legacyStripCookies is the reference's clear_request_cookie, as this
// library had it before Open and ClearRequestCookie shared one tokenizer: it
// splits on ';' only and compares names exactly.
func legacyStripCookies(cookies, name string, chunks int) string {
	isSessionCookie := func(cookie string) bool {
		if cookie == name {
			return true
		}
		if chunks > 1 && len(cookie) == len(name)+1 && cookie[:len(name)] == name {
			d := int(cookie[len(name)] - '0')
			return d > 1 && d <= chunks
		}
		return false
	}
	var b strings.Builder
	size := len(cookies)
	var current string
	named, skip := false, false
	start := 0
	for i := 0; i < size; i++ {
		c := cookies[i]
		last := i == size-1
		if named {
			if c == ';' || last {
				if !skip {
					var value string
					if c == ';' {
						value = trimBlank(cookies[start:i])
					} else {
						value = trimBlank(cookies[start:])
					}
					b.WriteString(value)
					if !last {
						b.WriteString("; ")
					}
				}
				if last {
					break
				}
				named, start, skip = false, i+1, false
			}
			continue
		}
		switch {
		case c == '=' || c == ';':
			current, named = cookies[start:i], true
		case last:
			current, named = cookies[start:], true
		}
		if !named {
			continue
		}
		current = trimBlank(current)
		if c == ';' || last {
			if current != "" {
				b.WriteString(current)
				if !last {
					b.WriteByte(';')
				}
			} else if last {
				break
			}
			named = false
		} else {
			skip = isSessionCookie(current)
			if !skip {
				b.WriteString(current)
				b.WriteByte('=')
			}
		}
		start = i + 1
	}
	return b.String()
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
		out, err := inflate(data, maxCookieInflatedSize)
		if err == nil && len(out) > maxCookieInflatedSize {
			t.Fatal("inflate exceeded its bound")
		}
	})
}

// FuzzStoreRecord feeds arbitrary store records (what a store returns for a
// session) to the record and info decoders: errors, never a panic. (The
// file store's index parser has FuzzFileIndex.)
func FuzzStoreRecord(f *testing.F) {
	f.Add([]byte(`["AAAA"]`))
	f.Add([]byte(`["AAAA","eyJkZWZhdWx0Ijp7InNlZW4iOiJ5ZXMifX0"]`))
	f.Add([]byte(`["AAAA",null]`))
	f.Fuzz(func(t *testing.T, record []byte) {
		if rec, err := decodeRecord(record); err == nil {
			if len(rec) == 0 || len(rec) > 2 {
				t.Fatalf("decodeRecord(%q) = %d fields", record, len(rec))
			}
			if len(rec) == 2 {
				decodeInfo(rec[1]) //nolint:errcheck // any error is fine, a panic is not
			}
		}
	})
}
