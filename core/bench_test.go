package session_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// The benchmarks drive sessions through net/http with an in-process handler
// (one request value reused, its response header reset per iteration), next
// to BenchmarkFloor*: the standard-library crypto a session needs at the
// least for the same data (HKDF expands, AES-GCM, HMAC, base64 and JSON),
// measured in the same run. Compare them with benchstat or by ratio.

var (
	smallData = map[string]any{"user": "alice", "role": "admin", "n": 42.0}
	data2KB   = map[string]any{"user": "alice", "blob": benchNoise(2048)}
	data8KB   = map[string]any{"user": "alice", "blob": benchNoise(8192)}
)

func benchNoise(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	x := uint32(2463534242)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[x%64])
	}
	return b.String()
}

// discard is a ResponseWriter whose header is reused.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) reset()                      { clear(d.h) }

func benchManager(b *testing.B, cfg session.Config) *session.Manager {
	b.Helper()
	cfg.Secret = "benchmark-secret"
	m, err := session.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// cookieRequest returns a request carrying a session saved with data.
func cookieRequest(b *testing.B, m *session.Manager, data map[string]any) *http.Request {
	b.Helper()
	w := &discard{h: http.Header{}}
	r, _ := http.NewRequest("GET", "http://example.com/", nil)
	s := m.NewSession(adapter.NewHTTP(w, r))
	s.SetData(data)
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

func BenchmarkNewSave(b *testing.B) {
	m := benchManager(b, session.Config{})
	r, _ := http.NewRequest("GET", "http://example.com/", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		s := m.NewSession(adapter.NewHTTP(w, r))
		s.Set("user", "alice")
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchOpenRead(b *testing.B, cfg session.Config, data map[string]any) {
	m := benchManager(b, cfg)
	r := cookieRequest(b, m, data)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		s, err := m.Open(w, r)
		if err != nil || !s.Exists() || s.Get("user") != "alice" {
			b.Fatal("open:", err)
		}
	}
}

func benchOpenModifySave(b *testing.B, cfg session.Config, data map[string]any) {
	m := benchManager(b, cfg)
	r := cookieRequest(b, m, data)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		s, err := m.Open(w, r)
		if err != nil || !s.Exists() {
			b.Fatal("open:", err)
		}
		s.Set("n", 43.0)
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenRead(b *testing.B)    { benchOpenRead(b, session.Config{}, smallData) }
func BenchmarkOpenRead2KB(b *testing.B) { benchOpenRead(b, session.Config{}, data2KB) }
func BenchmarkOpenModifySave(b *testing.B) {
	benchOpenModifySave(b, session.Config{}, smallData)
}
func BenchmarkOpenModifySave2KB(b *testing.B) {
	benchOpenModifySave(b, session.Config{}, data2KB)
}

// The 2 KB data is above the default compression threshold, so the two
// benchmarks above also deflate and inflate (the floor does not); these do
// the same work as the floor.
func BenchmarkOpenRead2KBNoDeflate(b *testing.B) {
	benchOpenRead(b, session.Config{CompressionThreshold: -1}, data2KB)
}
func BenchmarkOpenModifySave2KBNoDeflate(b *testing.B) {
	benchOpenModifySave(b, session.Config{CompressionThreshold: -1}, data2KB)
}

// BenchmarkChunked8KB opens and saves a session spread over three cookies.
func BenchmarkChunked8KB(b *testing.B) {
	benchOpenModifySave(b, session.Config{CompressionThreshold: -1}, data8KB)
}

func BenchmarkTouch(b *testing.B) {
	m := benchManager(b, session.Config{})
	r := cookieRequest(b, m, smallData)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		s, err := m.Open(w, r)
		if err != nil || !s.Exists() {
			b.Fatal("open:", err)
		}
		if err := s.Touch(); err != nil {
			b.Fatal(err)
		}
	}
}

// floor is the standard-library work of one session cookie, done the plain
// way: HKDF-Expand for the encryption key and the MAC key, AES-256-GCM,
// HMAC-SHA256 over the header, base64url, and JSON for the same data.
type floor struct {
	prk    []byte
	sid    []byte
	header []byte
}

func newFloor() *floor {
	ikm := sha256.Sum256([]byte("benchmark-secret"))
	prk, _ := hkdf.Extract(sha256.New, ikm[:], nil)
	return &floor{prk: prk, sid: make([]byte, 32), header: make([]byte, 82)}
}

func (f *floor) keys() (keyIV, macKey []byte) {
	keyIV, _ = hkdf.Expand(sha256.New, f.prk, "encryption:"+string(f.sid), 44)
	macKey, _ = hkdf.Expand(sha256.New, f.prk, "authentication:"+string(f.sid), 32)
	return keyIV, macKey
}

func (f *floor) mac(macKey []byte) []byte {
	h := hmac.New(sha256.New, macKey)
	h.Write(f.header[:66])
	return h.Sum(nil)
}

// seal is the floor of a save: JSON, keys, GCM, MAC, base64.
func (f *floor) seal(data any) string {
	plaintext, _ := json.Marshal([]any{[]any{data, "default"}})
	keyIV, macKey := f.keys()
	block, _ := aes.NewCipher(keyIV[:32])
	aead, _ := cipher.NewGCM(block)
	ciphertext := aead.Seal(nil, keyIV[32:], plaintext, f.header[:47])
	f.mac(macKey)
	return base64.RawURLEncoding.EncodeToString(f.header) + base64.RawURLEncoding.EncodeToString(ciphertext)
}

// open is the floor of an open: base64, keys, MAC, GCM, JSON.
func (f *floor) open(cookie string) map[string]any {
	header, _ := base64.RawURLEncoding.DecodeString(cookie[:110])
	ciphertext, _ := base64.RawURLEncoding.DecodeString(cookie[110:])
	keyIV, macKey := f.keys()
	_ = hmac.Equal(f.mac(macKey), header[66:]) // the floor's header carries no real MAC
	block, _ := aes.NewCipher(keyIV[:32])
	aead, _ := cipher.NewGCM(block)
	plaintext, err := aead.Open(nil, keyIV[32:], ciphertext, f.header[:47])
	if err != nil {
		panic(err)
	}
	var entries [][]any
	if err := json.Unmarshal(plaintext, &entries); err != nil {
		panic(err)
	}
	return entries[0][0].(map[string]any)
}

func benchFloorOpen(b *testing.B, data map[string]any) {
	f := newFloor()
	cookie := f.seal(data)
	b.ReportAllocs()
	for b.Loop() {
		if f.open(cookie)["user"] != "alice" {
			b.Fatal("floor open failed")
		}
	}
}

func benchFloorOpenSave(b *testing.B, data map[string]any) {
	f := newFloor()
	cookie := f.seal(data)
	b.ReportAllocs()
	for b.Loop() {
		d := f.open(cookie)
		d["n"] = 43.0
		f.seal(d)
	}
}

func BenchmarkFloorSave(b *testing.B) {
	f := newFloor()
	b.ReportAllocs()
	for b.Loop() {
		f.seal(map[string]any{"user": "alice"})
	}
}
func BenchmarkFloorOpenRead(b *testing.B)          { benchFloorOpen(b, smallData) }
func BenchmarkFloorOpenRead2KB(b *testing.B)       { benchFloorOpen(b, data2KB) }
func BenchmarkFloorOpenModifySave(b *testing.B)    { benchFloorOpenSave(b, smallData) }
func BenchmarkFloorOpenModifySave2KB(b *testing.B) { benchFloorOpenSave(b, data2KB) }
func BenchmarkFloorChunked8KB(b *testing.B)        { benchFloorOpenSave(b, data8KB) }
