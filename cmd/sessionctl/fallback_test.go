package main

import (
	"encoding/hex"
	"strings"
	"testing"
)

// TestFallbackPrecedence: as in lua-resty-session, the secret fallbacks are
// keys only without ikm fallbacks, whether they come from flags or from a
// configuration file (read by session.ParseConfig).
func TestFallbackPrecedence(t *testing.T) {
	t.Parallel()
	const oldSecret, newSecret = "the old secret, rotated out", "the new secret, current"
	ikmHex := hex.EncodeToString([]byte(strings.Repeat("i", 32)))
	cookie := mustRun(t, "", "new", "--secret", oldSecret)
	for _, tt := range []struct {
		name    string
		args    []string
		config  map[string]any
		exists  bool
		warning bool
	}{
		{"secret fallback flag", []string{"--secret", newSecret, "--secret-fallback", oldSecret}, nil, true, false},
		{"secret and ikm fallback flags", []string{"--secret", newSecret, "--secret-fallback", oldSecret, "--ikm-fallback-hex", ikmHex}, nil, false, true},
		{"secret fallback flag, ikm fallbacks in the file", []string{"--secret-fallback", oldSecret},
			map[string]any{"secret": newSecret, "ikm_fallbacks_hex": []string{ikmHex}}, false, true},
		{"both in the file", nil,
			map[string]any{"secret": newSecret, "secret_fallbacks": []string{oldSecret}, "ikm_fallbacks_hex": []string{ikmHex}}, false, false},
		{"both in a Kong entity, ikm_fallbacks empty", nil,
			map[string]any{"name": "session", "config": map[string]any{"secret": newSecret, "secret_fallbacks": []string{oldSecret}, "ikm_fallbacks": []string{}}}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"open"}, tt.args...)
			if tt.config != nil {
				args = append(args, "--config", writeJSON(t, tt.config))
			}
			res := sessionctl(t, cookie, args...)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			r := openReport(t, cookie, args[1:]...)
			if r.Exists != tt.exists {
				t.Errorf("exists %v, want %v (error %+v)", r.Exists, tt.exists, r.Error)
			}
			if tt.exists && (r.Header == nil || r.Header.Key == nil || *r.Header.Key != 1) {
				t.Errorf("header %+v, want key 1 (the first fallback)", r.Header)
			}
			if got := strings.Contains(res.stderr, "ignoring the secret fallbacks"); got != tt.warning {
				t.Errorf("warning %v, want %v: %q", got, tt.warning, res.stderr)
			}
		})
	}
}
