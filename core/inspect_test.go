package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

func TestFlagNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flags uint16
		want  []string
	}{
		{0, []string{}},
		{flagStorage, []string{"storage"}},
		{flagForget | flagDeflate, []string{"forget", "deflate"}},
		{flagBindIP | flagBindScheme | flagBindUserAgent, []string{"bind-ip", "bind-scheme", "bind-user-agent"}},
		{flagStorage | 0x0080 | 0x8000, []string{"storage", "0x0080", "0x8000"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.want, ","), func(t *testing.T) {
			if got := (Header{Flags: tt.flags}).FlagNames(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FlagNames(%#04x) = %q, want %q", tt.flags, got, tt.want)
			}
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.login(map[string]any{"a": "b"}, "alice")
	good := h.jar["session"]
	tests := []struct {
		name, value, msg string
	}{
		{"empty", "", "invalid session header"},
		{"short", good[:109], "invalid session header"},
		{"not base64url", "*" + good[1:], "unable to base64url decode session header"},
		{"wrong type", "Ag" + good[2:], "invalid session cookie type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHeader(tt.value)
			var e *Error
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || e.Msg != tt.msg {
				t.Fatalf("ParseHeader: %v, want ErrInvalid with message %q", err, tt.msg)
			}
		})
	}
}

// TestHeaderMatchesParse checks that the authenticated header of an open
// session and the unauthenticated parse of its cookie agree on every field
// but Key, and that the fields say what was saved.
func TestHeaderMatchesParse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Bind: []Binding{"ip", "scheme"}, Remember: true, RememberSafety: "None"})
	h.login(map[string]any{"user": "alice"}, "alice")
	h.clock.Advance(30 * time.Second)
	s, r := h.request()
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(); err != nil {
		t.Fatal(err)
	}
	h.commit(r)
	s, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s.Header()
	if !ok {
		t.Fatal("Header of an open session: ok = false")
	}
	parsed, err := ParseHeader(h.jar["session"])
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != 0 || parsed.Key != -1 {
		t.Errorf("Key = %d (authenticated), %d (parsed), want 0 and -1", got.Key, parsed.Key)
	}
	parsed.Key = 0
	if got != parsed {
		t.Errorf("Header = %+v\nParseHeader = %+v", got, parsed)
	}
	if got.SessionID != s.ID() || !got.CreationTime.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("id %s created %v, want %s at 1700000000", got.SessionID, got.CreationTime, s.ID())
	}
	if got.RollingOffset != 0 || got.IdlingOffset != 30*time.Second {
		t.Errorf("offsets rolling %v idling %v, want 0 and 30s", got.RollingOffset, got.IdlingOffset)
	}
	if want := []string{"bind-ip", "bind-scheme"}; !reflect.DeepEqual(got.FlagNames(), want) {
		t.Errorf("flags %q, want %q", got.FlagNames(), want)
	}
	if n, err := got.Chunks("session"); n != 1 || err != nil {
		t.Errorf("Chunks = %d, %v; want 1", n, err)
	}
	if got.DataSize != len(h.jar["session"])-headerEncodedSize {
		t.Errorf("DataSize = %d, cookie payload is %d", got.DataSize, len(h.jar["session"])-headerEncodedSize)
	}
	if _, ok := s.RememberHeader(); ok {
		t.Error("RememberHeader after a plain open: ok = true, want false (not read)")
	}
	// A restore from the remember cookie reads it.
	delete(h.jar, "session")
	s, err = h.open()
	if err != nil {
		t.Fatal(err)
	}
	rh, ok := s.RememberHeader()
	if !ok || rh.Key != 0 || rh.IdlingOffset != 0 {
		t.Errorf("RememberHeader after restore = %+v, %v", rh, ok)
	}
	s.Close()
	if _, ok := s.Header(); ok {
		t.Error("Header of a closed session: ok = true")
	}
}

func TestHeaderKeyIndex(t *testing.T) {
	t.Parallel()
	ikm := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name string
		cfg  Config
		want int
	}{
		{"primary secret", Config{Secret: "old"}, 0},
		{"ikm fallback", Config{Secret: "new", IKMFallbacks: [][]byte{ikm, hashSecret("old")}}, 2},
		{"secret fallback", Config{Secret: "new", SecretFallbacks: []string{"x", "old"}}, 2},
	}
	maker := newHarness(t, Config{Secret: "old"})
	maker.login(map[string]any{"k": 1}, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			h.jar, h.order = maker.jar, maker.order
			s, err := h.open()
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Header(); got.Key != tt.want {
				t.Errorf("Key = %d, want %d", got.Key, tt.want)
			}
		})
	}
}

func TestStorageKey(t *testing.T) {
	t.Parallel()
	for _, hash := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "hashed"}[hash], func(t *testing.T) {
			st := newTestMemoryStore(t)
			h := newHarness(t, Config{Store: st, HashStorageKey: hash})
			h.login(map[string]any{"k": 1}, "")
			hd, err := ParseHeader(h.jar["session"])
			if err != nil {
				t.Fatal(err)
			}
			key, err := h.m.StorageKey(hd.SessionID)
			if err != nil {
				t.Fatal(err)
			}
			if (key == hd.SessionID) == hash {
				t.Errorf("StorageKey = %s for id %s with HashStorageKey %v", key, hd.SessionID, hash)
			}
			if _, err := st.Get(context.Background(), "session", key, store.GetOptions{Now: h.clock.Now()}); err != nil {
				t.Errorf("no record under StorageKey: %v", err)
			}
			if hd.FlagNames()[0] != "storage" {
				t.Errorf("flags %q, want storage first", hd.FlagNames())
			}
		})
	}
	m, _ := New(Config{Secret: "s"})
	for _, bad := range []string{"", "abc", strings.Repeat("A", 44), strings.Repeat("*", 43)} {
		if _, err := m.StorageKey(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("StorageKey(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// BenchmarkParseHeader measures decoding a header without authenticating
// it, against the floor of its base64url decoding alone.
func BenchmarkParseHeader(b *testing.B) {
	h := newHarness(b, Config{})
	h.login(map[string]any{"user": "alice"}, "alice")
	cookie := h.jar["session"]
	b.Run("base64-floor", func(b *testing.B) {
		b.ReportAllocs()
		var raw [headerSize]byte
		src := []byte(cookie[:headerEncodedSize])
		for b.Loop() {
			if _, err := b64.Decode(raw[:], src); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseHeader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseHeader(cookie); err != nil {
				b.Fatal(err)
			}
		}
	})
}
