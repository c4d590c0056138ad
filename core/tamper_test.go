package session

import (
	"errors"
	"strings"
	"testing"
)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flip returns a different base64url character for c.
func flip(c byte, salt int) byte {
	i := strings.IndexByte(b64Alphabet, c)
	return b64Alphabet[(i+1+salt)%len(b64Alphabet)]
}

// TestEveryCharacterChangeIsDetected changes each character of genuine
// cookies (header, payload, every chunk, remember cookie) and expects an
// error every time: strict base64url leaves no malleable bits.
func TestEveryCharacterChangeIsDetected(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		data   map[string]any
		cookie string // the cookie to alter
	}{
		{"single", Config{}, map[string]any{"user": "alice"}, "session"},
		{"deflated", Config{}, map[string]any{"text": strings.Repeat("abc ", 400)}, "session"},
		{"chunked", Config{CompressionThreshold: -1}, map[string]any{"blob": noise(7000)}, "session"},
		{"chunked part 2", Config{CompressionThreshold: -1}, map[string]any{"blob": noise(7000)}, "session2"},
		{"remember", Config{Remember: true, RememberSafety: "None"}, map[string]any{"user": "bob"}, "remember"},
		{"bound", Config{Bind: []Binding{"ip", "user-agent"}}, map[string]any{"user": "carol"}, "session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.cfg)
			h.login(tt.data, "subject")
			original := h.jar[tt.cookie]
			if original == "" {
				t.Fatalf("no %s cookie: %v", tt.cookie, h.jar)
			}
			if tt.cookie == "remember" {
				delete(h.jar, "session") // open through the remember cookie alone
			}
			if _, err := h.open(); err != nil {
				t.Fatalf("genuine cookie does not open: %v", err)
			}
			if tt.cookie == "remember" {
				delete(h.jar, "session")
			}
			step := 1
			if len(original) > 1000 {
				step = 7 // still thousands of positions, spread over every chunk
			}
			for i := 0; i < len(original); i += step {
				for salt := 0; salt < 2; salt++ {
					b := []byte(original)
					b[i] = flip(b[i], salt*31)
					h.jar[tt.cookie] = string(b)
					s, _ := h.request()
					err := s.Open()
					if err == nil {
						t.Fatalf("change at %d (%q -> %q) went unnoticed", i, original[i], b[i])
					}
					if errors.Is(err, ErrClosed) || errors.Is(err, ErrStore) {
						t.Fatalf("change at %d: unexpected error class %v", i, err)
					}
				}
			}
			h.jar[tt.cookie] = original
		})
	}
}

// noise returns n incompressible base64url characters.
func noise(n int) string {
	var b strings.Builder
	x := uint32(2463534242)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(b64Alphabet[x%64])
	}
	return b.String()
}
