package session

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Regression tests for the hardening items of the security review, one
// function (or group of subtests) per item.

// A configuration must never make a key that anyone can compute: an empty
// fallback secret (an unset environment variable) would accept cookies
// minted with SHA-256(""), and an all-zero IKM is no secret either.
func TestSecurityEmptyFallbackSecret(t *testing.T) {
	t.Parallel()
	zero := make([]byte, ikmSize)
	good := bytes.Repeat([]byte{7}, ikmSize)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"empty secret fallback", Config{Secret: "a long enough secret", SecretFallbacks: []string{"old secret value", ""}}},
		{"all-zero ikm", Config{IKM: zero}},
		{"all-zero ikm fallback", Config{IKM: good, IKMFallbacks: [][]byte{good, zero}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tt.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// An empty Secret without IKM is not forgeable (a random key is made, with a
// warning); it keeps working.
func TestSecurityEmptySecretRandomKey(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	m, err := New(Config{Logger: newTextLogger(&log)})
	if err != nil {
		t.Fatalf("New without a secret = %v, want a Manager with a random key", err)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "random key") {
		t.Errorf("no warning about the random key: %q", log.String())
	}
	other := mustNew(t, Config{Logger: newTextLogger(io.Discard)})
	r := newRecorder("")
	s := other.NewSession(r)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if err := m.NewSession(newRecorder(joinCookies(r.setCookies))).Open(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a cookie of another random-key Manager opened: %v", err)
	}
}

// Secrets shorter than 16 bytes are accepted (an existing OpenResty or Kong
// deployment may use one) but logged loudly; so are short fallbacks.
func TestSecurityWeakSecretWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		warn bool
	}{
		{"short secret", Config{Secret: "luaref-secret-1"}, true},
		{"short fallback", Config{Secret: "sixteen bytes ok", SecretFallbacks: []string{"old-secret"}}, true},
		{"16 bytes", Config{Secret: "sixteen bytes ok", SecretFallbacks: []string{"sixteen bytes ok"}}, false},
		{"short secret ignored for IKM", Config{IKM: bytes.Repeat([]byte{1}, ikmSize), Secret: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			tt.cfg.Logger = newTextLogger(&log)
			if _, err := New(tt.cfg); err != nil {
				t.Fatalf("New = %v, want a Manager (weak secrets are a warning)", err)
			}
			got := strings.Contains(log.String(), "level=WARN") && strings.Contains(log.String(), "shorter than 16 bytes")
			if got != tt.warn {
				t.Errorf("warning = %v, want %v; log: %q", got, tt.warn, log.String())
			}
		})
	}
}

// Refresh moves a session opened with a fallback key to the current key
// (a full save), so a rotated-out secret stops working once the session is
// used; a touch would re-sign it with the old key forever.
func TestSecurityRefreshMovesToCurrentKey(t *testing.T) {
	t.Parallel()
	const oldSecret, newSecret = "the old secret, rotated out", "the new secret, current"
	for _, tt := range []struct {
		name string
		idle time.Duration
	}{
		{"idle past the touch threshold", 5 * time.Minute},
		{"fresh", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			old := mustNew(t, Config{Secret: oldSecret, Clock: clock.Now})
			r := newRecorder("")
			s := old.NewSession(r)
			s.Set("user", "carol")
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.idle)

			rotated := mustNew(t, Config{Secret: newSecret, SecretFallbacks: []string{oldSecret}, Clock: clock.Now})
			r = newRecorder(joinCookies(r.setCookies))
			s = rotated.NewSession(r)
			if err := s.Start(); !s.Exists() || err != nil {
				t.Fatalf("Start with a fallback-key cookie = %v, %v", s.Exists(), err)
			}
			if len(r.setCookies) != 1 {
				t.Fatalf("Refresh of a fallback-key session sent %d cookies, want 1: %q", len(r.setCookies), r.setCookies)
			}

			current := mustNew(t, Config{Secret: newSecret, Clock: clock.Now})
			s = current.NewSession(newRecorder(joinCookies(r.setCookies)))
			if err := s.Open(); err != nil {
				t.Fatalf("the refreshed cookie does not open with the current key alone: %v", err)
			}
			if s.Get("user") != "carol" {
				t.Fatalf("data after the move = %v", s.Data())
			}
		})
	}
}

// setCounter is a Store that counts its Set calls.
type setCounter struct {
	Store
	sets int
}

func (c *setCounter) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	c.sets++
	return c.Store.Set(ctx, name, key, value, opts)
}

// What goes in comes out: a subject, audience or data string that is not
// valid UTF-8 would come back with U+FFFD in it (so the refreshed session
// would be indexed under another subject, out of reach of RevokeSessions).
// New and Save reject it, naming the field, before anything is written.
func TestSecurityInvalidUTF8(t *testing.T) {
	t.Parallel()
	t.Run("config", func(t *testing.T) {
		t.Parallel()
		for _, cfg := range []Config{
			{Secret: "a long enough secret", Audience: "app\xff"},
			{Secret: "a long enough secret", Subject: "\xc3("},
		} {
			if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New(audience %q, subject %q) = %v, want ErrInvalidConfig", cfg.Audience, cfg.Subject, err)
			}
		}
	})
	tests := []struct {
		name  string
		set   func(s *Session)
		field string
	}{
		{"subject", func(s *Session) { s.SetSubject("alice\xff") }, "subject"},
		{"audience", func(s *Session) { s.SetAudience("\xfe") }, "audience"},
		{"data key", func(s *Session) { s.Set("k\xff", 1) }, "data key"},
		{"data value", func(s *Session) { s.Set("name", "bob\x80") }, `data key "name"`},
		{"nested data value", func(s *Session) { s.Set("list", []any{map[string]any{"x": "\xed\xa0\x80"}}) }, `data key "list"`},
	}
	for _, storage := range []string{"cookie", "store"} {
		for _, tt := range tests {
			t.Run(storage+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				cfg := Config{Secret: "a long enough secret", Remember: true, RememberSafety: "None"}
				var counter *setCounter
				if storage == "counter" {
					counter = &setCounter{Store: newTestMemoryStore(t)}
					cfg.Store = counter
				}
				m := mustNew(t, cfg)
				r := newRecorder("")
				s := m.NewSession(r)
				tt.set(s)
				err := s.Save()
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "UTF-8") {
					t.Fatalf("Save = %v, want ErrInvalid naming %s and UTF-8", err, tt.field)
				}
				if len(r.setCookies) != 0 {
					t.Errorf("Save sent cookies: %q", r.setCookies)
				}
				if counter != nil && counter.sets != 0 {
					t.Errorf("Save wrote %d store records", counter.sets)
				}
			})
		}
	}
	t.Run("valid U+FFFD round-trips", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, Config{})
		h.login(map[string]any{"k\uFFFD": "v\uFFFD"}, "sub\uFFFD")
		s, err := h.open()
		if err != nil {
			t.Fatal(err)
		}
		if s.Subject() != "sub\uFFFD" || s.Get("k\uFFFD") != "v\uFFFD" {
			t.Fatalf("subject %q, data %v", s.Subject(), s.Data())
		}
	})
}

// ClearRequestCookie removes exactly the cookies that Open reads: the same
// separators (';' and ','), blanks and case-insensitive names. A cookie
// that opened the session must never be forwarded upstream.
func TestSecurityClearRequestCookieTokenizer(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{Secret: "a long enough secret", Remember: true, RememberSafety: "None"})
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	_, session, _ := strings.Cut(strings.SplitN(r.setCookies[0], ";", 2)[0], "=")
	_, remember, _ := strings.Cut(strings.SplitN(r.setCookies[1], ";", 2)[0], "=")
	tests := []struct {
		name, header, want string
	}{
		{"comma", "a=1, session=" + session + ", b=2", "a=1, b=2"},
		{"upper case", "a=1; SESSION=" + session + "; b=2", "a=1; b=2"},
		{"mixed case remember", "Session=" + session + "; REMEMBER=" + remember, ""},
		{"blanks and comma", "a=1 ,  session = " + session + " ,remember=" + remember + "; b=2", "a=1, b=2"},
		{"value-less tokens kept", "a=1; session=" + session + "; flag; b=2", "a=1; flag;b=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newRecorder(tt.header)
			s := m.NewSession(ex)
			if err := s.Open(); err != nil {
				t.Fatalf("Open(%q) = %v", tt.header, err)
			}
			if err := s.ClearRequestCookie(); err != nil {
				t.Fatal(err)
			}
			if ex.cookie != tt.want {
				t.Errorf("Cookie after ClearRequestCookie = %q, want %q", ex.cookie, tt.want)
			}
			if strings.Contains(ex.cookie, session[:headerEncodedSize]) || strings.Contains(ex.cookie, remember[:headerEncodedSize]) {
				t.Errorf("a session cookie is still forwarded: %q", ex.cookie)
			}
		})
	}
}

// Open reads at most maxCookieHeader bytes of the Cookie header, in one
// pass: enough for a session and a remember cookie of nine chunks each and
// other cookies, while a hostile megabyte of separators is not scanned.
func TestSecurityCookieHeaderBound(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{Secret: "a long enough secret"})
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	session := joinCookies(r.setCookies)
	pad := func(n int) string { return strings.Repeat("x=y;", n/4) }
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"within the bound", pad(maxCookieHeader-2*len(session)) + session, nil},
		{"ends exactly at the bound", pad(maxCookieHeader-len(session)) + session, nil},
		{"cut by the bound", pad(maxCookieHeader-len(session)/2) + session, ErrNotFound},
		{"past the bound", pad(1<<20) + session, ErrNotFound},
		{"a megabyte of separators", strings.Repeat(";", 1<<20) + session, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.NewSession(newRecorder(tt.header)).Open()
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Open with the cookie at %d of %d bytes = %v, want %v", len(tt.header)-len(session), len(tt.header), err, tt.want)
			}
		})
	}
}

// A remember cookie's key costs PBKDF2 (10000 iterations at the default
// RememberSafety). Replaying one's own remember cookie must not cost it on
// every request: the derived keys of verified cookies are cached. Each
// restore still derives the key of the new remember cookie it issues.
func TestSecurityRememberKeyCache(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{Secret: "a long enough secret", Remember: true, RememberSafety: "Low"})
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	var remember string
	for _, line := range r.setCookies {
		if strings.HasPrefix(line, "remember=") {
			remember, _, _ = strings.Cut(line, ";")
		}
	}
	before := m.rememberKeys.derivations.Load()
	const replays = 10
	for range replays {
		s := m.NewSession(newRecorder(remember))
		if err := s.Open(); err != nil || s.Get("user") != "alice" {
			t.Fatalf("restore from the remember cookie: %v, %v", err, s.Data())
		}
	}
	// One derivation per replay: the new remember cookie's. The replayed
	// cookie's key comes from the cache.
	if got := m.rememberKeys.derivations.Load() - before; got != replays {
		t.Fatalf("%d replays ran PBKDF2 %d times, want %d", replays, got, replays)
	}
}

// The cache of remember keys is bounded and keeps recently used entries.
func TestSecurityRememberKeyCacheBound(t *testing.T) {
	t.Parallel()
	c := newKeyCache(8)
	k := newKeyMaterial(bytes.Repeat([]byte{1}, ikmSize))
	key := func(i int) keyCacheKey {
		return keyCacheKey{k: k, sid: [sidSize]byte{byte(i), byte(i >> 8)}, iterations: 1000}
	}
	c.put(key(0), [keyIVSize]byte{0})
	for i := 1; i < 100; i++ {
		c.get(key(0)) // in use: it must survive
		c.put(key(i), [keyIVSize]byte{byte(i)})
		if n := len(c.index); n > 8 {
			t.Fatalf("cache holds %d entries, bound 8", n)
		}
	}
	if v, ok := c.get(key(0)); !ok || v[0] != 0 {
		t.Error("an entry in constant use was evicted")
	}
	if v, ok := c.get(key(99)); !ok || v[0] != 99 {
		t.Error("the latest entry is missing")
	}
	if _, ok := c.get(key(1)); ok {
		t.Error("an old unused entry survived 98 later ones in a cache of 8")
	}
}

// Inflating is bounded at the scale of the storage: a cookie carries at
// most maxCookieInflatedSize bytes of plaintext once inflated, a store
// record maxStoreInflatedSize. Saving keeps to the same bound (larger data
// is not compressed, and so does not fit in cookies), so what a save wrote
// always opens.
func TestSecurityInflateBound(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("a", maxCookieInflatedSize) // deflates to a few KiB
	t.Run("cookie storage save", func(t *testing.T) {
		t.Parallel()
		m := mustNew(t, Config{Secret: "a long enough secret"})
		r := newRecorder("")
		s := m.NewSession(r)
		s.Set("blob", big)
		if err := s.Save(); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Save of %d bytes that deflate to a cookie = %v, want ErrTooLarge (it would not open)", len(big), err)
		}
		if len(r.setCookies) != 0 {
			t.Errorf("Save sent cookies: %d lines", len(r.setCookies))
		}
	})
	t.Run("store save and open", func(t *testing.T) {
		t.Parallel()
		m := mustNew(t, Config{Secret: "a long enough secret", Store: newTestMemoryStore(t)})
		r := newRecorder("")
		s := m.NewSession(r)
		s.Set("blob", big)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		s = m.NewSession(newRecorder(joinCookies(r.setCookies)))
		if err := s.Open(); err != nil || s.Get("blob") != big {
			t.Fatalf("Open of a large store session = %v", err)
		}
	})
	t.Run("inflate", func(t *testing.T) {
		t.Parallel()
		var compressed bytes.Buffer
		if err := deflateAll(&compressed, []byte(big+"a")); err != nil {
			t.Fatal(err)
		}
		if _, err := inflate(compressed.Bytes(), maxCookieInflatedSize); !errors.Is(err, errInflateTooLarge) {
			t.Errorf("inflate past the cookie bound = %v, want errInflateTooLarge", err)
		}
		out, err := inflate(compressed.Bytes(), maxStoreInflatedSize)
		if err != nil || len(out) != len(big)+1 {
			t.Errorf("inflate within the store bound = %d bytes, %v", len(out), err)
		}
	})
}

// deflateAll compresses src without deflate's size bound.
func deflateAll(dst *bytes.Buffer, src []byte) error {
	w, err := flate.NewWriter(dst, flate.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := w.Write(src); err != nil {
		return err
	}
	return w.Close()
}

// Cookies are Secure unless explicitly disabled, unlike the reference's
// default; the cookie prefixes, SameSite=None and SameParty force Secure
// even then.
func TestSecuritySecureByDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"default", Config{}, "; Path=/; SameSite=Lax; Secure; HttpOnly"},
		{"disabled", Config{DisableSecure: true}, "; Path=/; SameSite=Lax; HttpOnly"},
		{"disabled but __Host-", Config{DisableSecure: true, CookiePrefix: "__Host-"}, "; Path=/; SameSite=Lax; Secure; HttpOnly"},
		{"disabled but __Secure-", Config{DisableSecure: true, CookiePrefix: "__Secure-"}, "; Path=/; SameSite=Lax; Secure; HttpOnly"},
		{"disabled but SameSite=None", Config{DisableSecure: true, CookieSameSite: "None"}, "; Path=/; SameSite=None; Secure; HttpOnly"},
		{"disabled but SameParty", Config{DisableSecure: true, CookieSameParty: true}, "; Path=/; SameSite=Lax; SameParty; Secure; HttpOnly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Secret = "a long enough secret"
			tt.cfg.Remember = true
			tt.cfg.RememberSafety = "None"
			m := mustNew(t, tt.cfg)
			r := newRecorder("")
			if err := m.NewSession(r).Save(); err != nil {
				t.Fatal(err)
			}
			for _, line := range r.setCookies {
				_, _, attrs := splitSetCookie(line)
				attrs, _, _ = strings.Cut(";"+attrs, "; Expires=")
				if attrs != tt.want {
					t.Errorf("Set-Cookie %q: attributes %q, want %q", line, attrs, tt.want)
				}
			}
		})
	}
}
