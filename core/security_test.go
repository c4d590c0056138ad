package session

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
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
