package session

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
			oldDeflate(&f, it.plain)
			old += f.Len()
			zlib += want.ZlibSize
		}
	}
	t.Logf("zlib %s; over the corpus the former compress/flate BestSpeed output was %.1f%% larger", rec.Zlib, 100*float64(old-zlib)/float64(zlib))
}

// oldDeflate is deflate as it was before zdeflate: compress/flate at
// BestSpeed, its writers pooled.
func oldDeflate(dst *bytes.Buffer, src []byte) {
	w := oldFlateWriters.Get().(*flate.Writer)
	defer oldFlateWriters.Put(w)
	w.Reset(dst)
	w.Write(src)
	w.Close()
}

var oldFlateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

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
