package session

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestFallbackPrecedence: as in the reference, SecretFallbacks are fallback
// keys only when no IKMFallbacks are set, whether the primary key is a
// Secret or an IKM. With both, a cookie made with a fallback secret does not
// open (the reference rejects it too), New says so in the log, and the
// secrets are not checked (an empty one is no error: it is not a key).
func TestFallbackPrecedence(t *testing.T) {
	t.Parallel()
	const oldSecret = "the old secret, rotated out"
	oldIKM := bytes.Repeat([]byte{7}, ikmSize)
	cookieOf := func(cfg Config) *harness {
		h := newHarness(t, cfg)
		h.login(map[string]any{"k": "v"}, "")
		return h
	}
	secretCookie := cookieOf(Config{Secret: oldSecret})
	ikmCookie := cookieOf(Config{IKM: oldIKM})

	for _, primary := range []Config{{Secret: "the current secret value"}, {IKM: bytes.Repeat([]byte{9}, ikmSize)}} {
		kind := "secret"
		if primary.IKM != nil {
			kind = "ikm"
		}
		tests := []struct {
			name              string
			secrets           []string
			ikms              [][]byte
			secretKey, ikmKey int // Header.Key of each cookie, -1: does not open
			warn              bool
		}{
			{"secret fallbacks", []string{oldSecret}, nil, 1, -1, false},
			{"ikm fallbacks", nil, [][]byte{oldIKM}, -1, 1, false},
			{"both", []string{oldSecret}, [][]byte{oldIKM}, -1, 1, true},
			{"both, two of each", []string{"x", oldSecret}, [][]byte{bytes.Repeat([]byte{8}, ikmSize), oldIKM}, -1, 2, true},
			{"both, an empty secret is not a key", []string{""}, [][]byte{oldIKM}, -1, 1, true},
			{"empty ikm fallbacks", []string{oldSecret}, [][]byte{}, 1, -1, false},
		}
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var log bytes.Buffer
				cfg := primary
				cfg.SecretFallbacks, cfg.IKMFallbacks, cfg.Logger = tt.secrets, tt.ikms, newTextLogger(&log)
				for _, c := range []struct {
					name  string
					maker *harness
					want  int
				}{{"secret cookie", secretCookie, tt.secretKey}, {"ikm cookie", ikmCookie, tt.ikmKey}} {
					h := newHarness(t, cfg)
					h.jar, h.order = c.maker.jar, c.maker.order
					s, err := h.open()
					switch {
					case c.want < 0 && !errors.Is(err, ErrInvalid):
						t.Errorf("%s: Open = %v, want ErrInvalid", c.name, err)
					case c.want >= 0 && err != nil:
						t.Errorf("%s: Open = %v", c.name, err)
					case c.want >= 0:
						if got, _ := s.Header(); got.Key != c.want || s.Get("k") != "v" {
							t.Errorf("%s: Key = %d, want %d", c.name, got.Key, c.want)
						}
					}
				}
				if got := strings.Contains(log.String(), "SecretFallbacks are ignored"); got != tt.warn {
					t.Errorf("warning logged = %v, want %v: %q", got, tt.warn, log.String())
				}
			})
		}
	}
}

// TestParseConfigFallbackPrecedence: a configuration in the reference's
// option names means the same keys here: with ikm_fallbacks given, a cookie
// made with a secret of secret_fallbacks does not open.
func TestParseConfigFallbackPrecedence(t *testing.T) {
	t.Parallel()
	const oldSecret = "the old secret, rotated out"
	maker := newHarness(t, Config{Secret: oldSecret})
	maker.login(map[string]any{"k": "v"}, "")
	for _, tt := range []struct {
		json  string
		opens bool
	}{
		{`{"secret": "the current secret value", "secret_fallbacks": ["` + oldSecret + `"]}`, true},
		{`{"secret": "the current secret value", "secret_fallbacks": ["` + oldSecret + `"], "ikm_fallbacks": ["` + rawKey + `"]}`, false},
		{`{"name": "session", "config": {"secret": "the current secret value", "secret_fallbacks": ["` + oldSecret + `"], "ikm_fallbacks": []}}`, false},
	} {
		cfg, err := ParseConfig([]byte(tt.json))
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, cfg)
		h.jar, h.order = maker.jar, maker.order
		if _, err := h.open(); (err == nil) != tt.opens {
			t.Errorf("%s: Open = %v, want it to open: %v", tt.json, err, tt.opens)
		}
	}
}
