package session

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zlibCorpus is testdata/deflate-zlib-corpus.json: what zlib's deflate
// (level 6, windowBits -15, memLevel 8, the reference's settings) wrote for
// each item of the deflate corpus, recorded by scripts/zlib-corpus.py.
type zlibCorpus struct {
	Zlib  string `json:"zlib"`
	Items []struct {
		Name       string `json:"name"`
		Size       int    `json:"size"`
		ZlibSize   int    `json:"zlib_size"`
		ZlibSHA256 string `json:"zlib_sha256"`
	} `json:"items"`
}

func loadZlibCorpus(t *testing.T) zlibCorpus {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "deflate-zlib-corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c zlibCorpus
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestZdeflateIsZlib: zdeflate writes zlib's bytes for every item of the
// corpus, and they inflate back. With $SESSIONGO_DEFLATE_CORPUS set to a
// directory, it writes the corpus there instead (for scripts/zlib-corpus.py).
func TestZdeflateIsZlib(t *testing.T) {
	items := deflateCorpus()
	if dir := os.Getenv("SESSIONGO_DEFLATE_CORPUS"); dir != "" {
		var index strings.Builder
		for _, it := range items {
			if err := os.WriteFile(filepath.Join(dir, it.name), it.plain, 0o644); err != nil {
				t.Fatal(err)
			}
			index.WriteString(it.name + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, "index"), []byte(index.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skipf("wrote %d items and their index to %s", len(items), dir)
	}
	rec := loadZlibCorpus(t)
	if len(rec.Items) != len(items) {
		t.Fatalf("%d recorded items, %d in the corpus: run scripts/zlib-corpus.py", len(rec.Items), len(items))
	}
	var old, zlib int
	for i, it := range items {
		want := rec.Items[i]
		if want.Name != it.name || want.Size != len(it.plain) {
			t.Fatalf("item %d is %s of %d bytes, recorded %s of %d: the corpus generator changed; run scripts/zlib-corpus.py",
				i, it.name, len(it.plain), want.Name, want.Size)
		}
		var out bytes.Buffer
		zdeflate(&out, it.plain)
		if sum := sha256.Sum256(out.Bytes()); out.Len() != want.ZlibSize || hex.EncodeToString(sum[:]) != want.ZlibSHA256 {
			t.Errorf("%s: %d bytes, not zlib's %d bytes", it.name, out.Len(), want.ZlibSize)
			continue
		}
		back, err := inflate(out.Bytes(), len(it.plain))
		if err != nil || !bytes.Equal(back, it.plain) {
			t.Errorf("%s: does not inflate back: %v", it.name, err)
		}
		if len(it.plain) >= 1024 && !strings.HasPrefix(it.name, "edge-") {
			var f bytes.Buffer
			flateFastest(&f, it.plain)
			old += f.Len()
			zlib += want.ZlibSize
		}
	}
	t.Logf("zlib %s; over the corpus the former compress/flate BestSpeed output was %.1f%% larger", rec.Zlib, 100*float64(old-zlib)/float64(zlib))
}

// TestDeflateNearCookieLimit: data that zlib, and so the reference, fits in
// nine cookies is saved in nine cookies, where the former compress/flate
// writer made too long a value (limit-*); and data that only that writer
// fits in nine cookies still is saved with it (over-*).
func TestDeflateNearCookieLimit(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{Secret: "a long enough secret"})
	name := m.cookieName
	fits := func(n int) bool { _, err := chunkCount(len(name), b64.EncodedLen(n)); return err == nil }
	n := 0
	for _, it := range deflateCorpus() {
		limit, over := strings.HasPrefix(it.name, "limit-"), strings.HasPrefix(it.name, "over-")
		if !limit && !over {
			continue
		}
		n++
		var zlib, fast bytes.Buffer
		zdeflate(&zlib, it.plain)
		flateFastest(&fast, it.plain)
		if fits(len(it.plain)) || fits(zlib.Len()) != limit || fits(fast.Len()) != over {
			t.Errorf("%s: not a case: %d bytes, %d deflated as zlib does, %d by compress/flate", it.name, len(it.plain), zlib.Len(), fast.Len())
		}
		r := newRecorder("")
		s := m.NewSession(r)
		s.SetData(it.data)
		if err := s.Save(); err != nil {
			t.Errorf("%s: %v", it.name, err)
			continue
		}
		if got := len(r.setCookies); got != maxCookies {
			t.Errorf("%s: %d cookies, want %d", it.name, got, maxCookies)
		}
		want := zlib.Len()
		if over {
			want = fast.Len()
		}
		if s.meta.dataSize != b64.EncodedLen(want) {
			t.Errorf("%s: data size %d, want %d", it.name, s.meta.dataSize, b64.EncodedLen(want))
		}
		s = m.NewSession(newRecorder(joinCookies(r.setCookies)))
		if err := s.Open(); err != nil || !jsonEqual(t, s.Data(), it.data) {
			t.Errorf("%s: Open = %v", it.name, err)
		}
	}
	if n == 0 {
		t.Fatal("no limit-* or over-* items in the corpus")
	}
}

// TestCookieDeflateLimit: cookieDeflateLimit is the most data chunkCount
// lets through.
func TestCookieDeflateLimit(t *testing.T) {
	for _, nameSize := range []int{1, 7, 8, 15, 40} {
		limit := cookieDeflateLimit(nameSize)
		if _, err := chunkCount(nameSize, b64.EncodedLen(limit)); err != nil {
			t.Errorf("name of %d bytes: %d bytes do not fit: %v", nameSize, limit, err)
		}
		if _, err := chunkCount(nameSize, b64.EncodedLen(limit+1)); err == nil {
			t.Errorf("name of %d bytes: %d bytes fit", nameSize, limit+1)
		}
	}
}

// FuzzZdeflate: whatever the input, zdeflate's output inflates back to it.
func FuzzZdeflate(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("hello world hello world hello world"))
	f.Add(bytes.Repeat([]byte{0}, 70000))
	f.Add([]byte(`[[{"user":"alice","note":"Привет, мир! 你好，世界"},"default"]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		zdeflate(&out, data)
		back, err := inflate(out.Bytes(), len(data))
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("%d bytes do not inflate back: %v", len(data), err)
		}
	})
}
