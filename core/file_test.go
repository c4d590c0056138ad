package session

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

func newTestFileStore(t *testing.T, opts ...StoreOption) *FileStore {
	t.Helper()
	st, err := NewFileStore(filepath.Join(t.TempDir(), "sessions"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	return st
}

// Keys as the session library makes them: 43 base64url characters.
const (
	fkA = "fgzjPVJv7kZoVMt-JbyPLzyVLGqPQi7OXkg8Zt1PiXg"
	fkB = "hXuy0wxxQYONBWZYNN_TftebIIm3UHQRmkKLYe1A1eI"
	fkC = "YfCY7lLwmBRVZg-WlMelIaQVugjgLTzl1ZAWccqGbIc"
)

// fileMtime returns the modification time of path.
func fileMtime(t *testing.T, path string) time.Time {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.ModTime()
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestFileStore(t *testing.T) {
	stBehaviour(t, func(t *testing.T) Store { return newTestFileStore(t) })
}

func TestFileStoreOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []StoreOption
		memory string // "" when NewMemoryStore accepts opts, else part of its error
		file   string // the same for NewFileStore
	}{
		{"prefix and suffix", []StoreOption{WithFilePrefix("app"), WithFileSuffix("sess")}, "WithFilePrefix applies to the file store only", ""},
		{"empty", []StoreOption{WithFilePrefix(""), WithFileSuffix("")}, "applies to the file store only", ""},
		{"suffix only", []StoreOption{WithFileSuffix("tar.gz")}, "WithFileSuffix applies to the file store only", ""},
		{"prefix with a slash", []StoreOption{WithFilePrefix("../x")}, "not printable ASCII", "not printable ASCII"},
		{"prefix with a colon", []StoreOption{WithFilePrefix("a:b")}, "not printable ASCII", "not printable ASCII"},
		{"suffix with a backslash", []StoreOption{WithFileSuffix(`a\b`)}, "not printable ASCII", "not printable ASCII"},
		{"suffix with a space", []StoreOption{WithFileSuffix("a b")}, "not printable ASCII", "not printable ASCII"},
		{"suffix with a NUL", []StoreOption{WithFileSuffix("a\x00")}, "not printable ASCII", "not printable ASCII"},
		{"long prefix", []StoreOption{WithFilePrefix(strings.Repeat("p", 65))}, "longer than 64 bytes", "longer than 64 bytes"},
		{"long suffix", []StoreOption{WithFileSuffix(strings.Repeat("s", 33))}, "longer than 32 bytes", "longer than 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms, err := NewMemoryStore(tt.opts...)
			checkStoreErr(t, "NewMemoryStore", err, tt.memory)
			if err == nil {
				ms.Stop()
			}
			fs, err := NewFileStore(filepath.Join(t.TempDir(), "s"), tt.opts...)
			checkStoreErr(t, "NewFileStore", err, tt.file)
			if err == nil {
				fs.Stop()
			}
		})
	}
}

func TestNewFileStoreErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	for _, dir := range []string{"", filepath.Join(file, "sub")} {
		if _, err := NewFileStore(dir); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewFileStore(%q): %v, want ErrInvalidConfig", dir, err)
		}
	}
}

// TestFileStoreLayout: the reference's file names, with and without a
// prefix and a suffix, raw values and expiries as modification times.
func TestFileStoreLayout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, suffix string
		record, index  string
	}{
		{"", "", "session_" + fkA, "session_YXVk:c3Vi"},
		{"app", "", "app_session_" + fkA, "app_session_YXVk:c3Vi"},
		{"", "sess", "session_" + fkA + ".sess", "session_YXVk:c3Vi.sess"},
		{"app", "sess", "app_session_" + fkA + ".sess", "app_session_YXVk:c3Vi.sess"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+"_"+tt.suffix, func(t *testing.T) {
			t.Parallel()
			if !fileColonNames {
				t.Skip("index names hold ':', which this OS does not take in a file name")
			}
			st := newTestFileStore(t, WithFilePrefix(tt.prefix), WithFileSuffix(tt.suffix))
			md := &store.Metadata{Audiences: []string{"YXVk"}, Subjects: []string{"c3Vi"}}
			stSet(t, st, "session", fkA, `["value"]`, store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
			if got := dirNames(t, st.Dir()); !slices.Equal(got, []string{tt.index, tt.record}) {
				t.Fatalf("files = %q, want %q", got, []string{tt.index, tt.record})
			}
			record := filepath.Join(st.Dir(), tt.record)
			if data, _ := os.ReadFile(record); string(data) != `["value"]` {
				t.Errorf("record file = %q, want the value as is", data)
			}
			if got := fileMtime(t, record); !got.Equal(stAt(time.Hour)) {
				t.Errorf("record mtime = %v, want the expiry %v", got, stAt(time.Hour))
			}
			index := filepath.Join(st.Dir(), tt.index)
			if data, _ := os.ReadFile(index); string(data) != fkA+":"+encodeExp(stAt(time.Hour))+";" {
				t.Errorf("index file = %q", data)
			}
			if got := fileMtime(t, index); !got.Equal(stAt(time.Hour)) {
				t.Errorf("index mtime = %v, want %v", got, stAt(time.Hour))
			}
		})
	}
}

// encodeExp is the index form of an expiry, written out apart from the
// store: 5 little-endian bytes of Unix seconds in base64url.
func encodeExp(t time.Time) string {
	sec := t.Unix()
	return base64.RawURLEncoding.EncodeToString([]byte{byte(sec), byte(sec >> 8), byte(sec >> 16), byte(sec >> 24), byte(sec >> 32)})
}

func TestFileStoreIndexEntry(t *testing.T) {
	t.Parallel()
	// From the reference's file:login vector.
	if got, want := encodeExp(time.Unix(1795651121, 0)), "MXYHawA"; got != want {
		t.Fatalf("encodeExp = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		expires int64
		want    string
	}{
		{1795651121e9, fkA + ":MXYHawA;"},
		{1795651120e9 + 1, fkA + ":MXYHawA;"}, // rounded up to the second
		{-5, fkA + ":AAAAAAA;"},
		{1<<63 - 1, fkA + ":BX3BJQI;"}, // 2262, no overflow
	} {
		if got := indexEntry(fkA, expirySeconds(tt.expires)); got != tt.want {
			t.Errorf("indexEntry(%d) = %q, want %q", tt.expires, got, tt.want)
		}
	}
	if got := indexEntry(fkA, 1<<50); got != fkA+":______8;" {
		t.Errorf("indexEntry(2^50 s) = %q, want 5 bytes of ones", got)
	}
}

// TestFileStoreRotation: a save with OldKey and metadata appends the new
// key and the old one's tombstone, shortens the old record by its
// modification time, and keeps the index's time at its longest-lived
// entry.
func TestFileStoreRotation(t *testing.T) {
	t.Parallel()
	st := newTestFileStore(t)
	md := &store.Metadata{Audiences: []string{"YXVk"}, Subjects: []string{"c3Vi"}}
	stSet(t, st, "session", fkA, "a", store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
	stSet(t, st, "session", fkB, "b", store.SetOptions{TTL: time.Hour, Now: stAt(time.Minute), OldKey: fkA, StaleTTL: 10 * time.Second, Metadata: md})
	index := st.indexPath("session", "YXVk", "c3Vi")
	want := fkA + ":" + encodeExp(stAt(time.Hour)) + ";" + fkB + ":" + encodeExp(stAt(time.Hour+time.Minute)) + ";" + fkA + ";"
	if data, _ := os.ReadFile(index); string(data) != want {
		t.Fatalf("index = %q, want %q", data, want)
	}
	// The reference would leave now (stAt(1m)); the longest-lived entry
	// keeps the index from its cleanup.
	if got := fileMtime(t, index); !got.Equal(stAt(time.Hour + time.Minute)) {
		t.Errorf("index mtime = %v, want the expiry of %s", got, fkB)
	}
	if got := fileMtime(t, st.recordPath("session", fkA)); !got.Equal(stAt(time.Minute + 10*time.Second)) {
		t.Errorf("old record mtime = %v, want now + stale TTL", got)
	}
	// The group is kept apart: a link for the new record, a group file.
	group := fileGroupID(st.recordBase("session", fkA))
	if link, _ := os.ReadFile(st.linkPath(st.recordBase("session", fkB))); string(link) != group {
		t.Errorf("link of the new record = %q, want %q", link, group)
	}
	if data, _ := os.ReadFile(st.groupPath(group)); string(data) != "session_"+fkA+"\nsession_"+fkB+"\n" {
		t.Errorf("group file = %q", data)
	}
	// Delete of the new key appends its tombstone; the index then lists
	// nothing and its time is now.
	if err := st.Delete(context.Background(), "session", fkB, store.DeleteOptions{Now: stAt(2 * time.Minute), Metadata: md}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(index); string(data) != want+fkB+";" {
		t.Fatalf("index after Delete = %q", data)
	}
	if got := fileMtime(t, index); !got.Equal(stAt(2 * time.Minute)) {
		t.Errorf("index mtime after Delete = %v, want now", got)
	}
	stMiss(t, st, "session", fkA, stAt(2*time.Minute)) // the group went with it
	if got := dirNames(t, filepath.Join(st.Dir(), fileGroupDir)); len(got) != 0 {
		t.Errorf("group files left: %v", got)
	}
	if got := dirNames(t, filepath.Join(st.Dir(), fileLinkDir)); len(got) != 0 {
		t.Errorf("links left: %v", got)
	}
}

// TestFileStoreNames: whatever becomes part of a path is validated; nothing
// reaches outside the directory.
func TestFileStoreNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newTestFileStore(t, WithFilePrefix("p"), WithFileSuffix("s"))
	parent := filepath.Dir(st.Dir())
	badNames := []string{"", "../x", "a/b", `a\b`, "a:b", "a\x00b", "a b", "a\nb", "ü", strings.Repeat("n", 128)}
	badKeys := append(slices.Clone(badNames), ".", "a.b", "a+b", "a=", "a;b")
	for _, c := range append(
		func() (out []struct{ name, key string }) {
			for _, n := range badNames {
				out = append(out, struct{ name, key string }{n, fkA})
			}
			for _, k := range badKeys {
				out = append(out, struct{ name, key string }{"session", k})
			}
			return out
		}(),
		struct{ name, key string }{strings.Repeat("n", 127), strings.Repeat("k", 127)}, // 259 bytes with p_ and .s
	) {
		if err := st.Set(ctx, c.name, c.key, []byte("v"), store.SetOptions{TTL: time.Minute, Now: stAt(0)}); !errors.Is(err, ErrStore) {
			t.Errorf("Set(%q, %q): %v, want an error matching ErrStore", c.name, c.key, err)
		}
		if _, err := st.Get(ctx, c.name, c.key, store.GetOptions{Now: stAt(0)}); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q, %q): %v, want an invalid-name error", c.name, c.key, err)
		}
		if err := st.Delete(ctx, c.name, c.key, store.DeleteOptions{}); err == nil {
			t.Errorf("Delete(%q, %q): no error", c.name, c.key)
		}
	}
	for _, o := range []store.SetOptions{
		{TTL: time.Minute, OldKey: "../x"},
		{TTL: time.Minute, Partner: store.RecordKey{Name: "../remember", Key: fkA}},
		{TTL: time.Minute, Partner: store.RecordKey{Name: "remember", Key: "a/b"}},
	} {
		if err := st.Set(ctx, "session", fkB, []byte("v"), o); !errors.Is(err, ErrStore) {
			t.Errorf("Set with %+v: %v, want an error matching ErrStore", o, err)
		}
	}
	// Cookie name tokens and base64url keys are fine; dots in a name are
	// part of a file name, never a path of their own.
	for _, name := range []string{"__Host-sess.id", "..", "."} {
		stSet(t, st, name, "AbC-_1", name, store.SetOptions{TTL: time.Minute, Now: stAt(0)})
		stGet(t, st, name, "AbC-_1", stAt(0), name)
	}
	// Audiences and subjects that cannot be part of a file name, or make
	// it too long, are indexed under a hash in dir/index.
	for i, md := range []*store.Metadata{
		{Audiences: []string{strings.Repeat("a", 300)}, Subjects: []string{"c3Vi"}},
		{Audiences: []string{"YXVk"}, Subjects: []string{"../../etc/passwd"}},
		{Audiences: []string{"a:b"}, Subjects: []string{"c"}},
		{Audiences: []string{"YXVk"}, Subjects: []string{"a b"}},
		{Audiences: []string{""}, Subjects: []string{"c3Vi"}},
	} {
		key := fkA[:42] + string(rune('a'+i))
		stSet(t, st, "session", key, "v", store.SetOptions{TTL: time.Minute, Now: stAt(0), Metadata: md})
		if got := stIndexKeys(t, st, "session", md.Audiences[0], md.Subjects[0], stAt(0)); !slices.Equal(got, []string{key}) {
			t.Errorf("index of %q %q = %v, want [%s]", md.Audiences[0], md.Subjects[0], got, key)
		}
		if dir := filepath.Dir(st.indexPath("session", md.Audiences[0], md.Subjects[0])); dir != filepath.Join(st.Dir(), fileIndexDir) {
			t.Errorf("index of %q %q in %s, want dir/index", md.Audiences[0], md.Subjects[0], dir)
		}
	}
	// A subject may hold ':' (the reference writes raw subjects so); the
	// audience never does, so each pair has a name of its own.
	if fileColonNames && st.indexPath("session", "YXVk", "a:b") == st.indexPath("session", "YXVk:a", "b") {
		t.Error("two audience and subject pairs share an index")
	}
	if got := dirNames(t, parent); !slices.Equal(got, []string{"sessions"}) {
		t.Fatalf("files outside the store's directory: %v", got)
	}
}

// TestFileStoreSharedDirectory: two stores on one directory (two
// processes) see each other's records and indexes; concurrent writers
// leave no temporary files behind.
func TestFileStoreSharedDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newTestFileStore(t, WithFilePrefix("app"))
	other, err := NewFileStore(st.Dir(), WithFilePrefix("app"))
	if err != nil {
		t.Fatal(err)
	}
	md := &store.Metadata{Audiences: []string{"YXVk"}, Subjects: []string{"c3Vi"}}
	stSet(t, st, "session", fkA, "v", store.SetOptions{TTL: time.Minute, Now: stAt(0), Metadata: md})
	stGet(t, other, "session", fkA, stAt(0), "v")
	stSet(t, other, "session", fkB, "w", store.SetOptions{TTL: time.Minute, Now: stAt(0), OldKey: fkA, StaleTTL: time.Second, Metadata: md})
	if got := stIndexKeys(t, st, "session", "YXVk", "c3Vi", stAt(0)); !slices.Equal(got, []string{fkB}) {
		t.Fatalf("index = %v, want [%s]", got, fkB)
	}
	// A store with another prefix keeps apart.
	third, _ := NewFileStore(st.Dir())
	stMiss(t, third, "session", fkB, stAt(0))

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*FileStore{st, other}[g%2]
			for i := range 50 {
				key := fkC[:40] + string(rune('a'+g)) + fmt.Sprintf("%02d", i)
				if err := s.Set(ctx, "session", key, []byte("v"), store.SetOptions{TTL: time.Minute, Now: stAt(0), Metadata: md}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for _, name := range dirNames(t, st.Dir()) {
		if strings.HasPrefix(name, fileTmpPrefix) {
			t.Fatalf("temporary file left behind: %s", name)
		}
	}
	// 200 appends of two stores with locks of their own (two processes):
	// every one is there, none torn.
	data, _ := os.ReadFile(st.indexPath("session", "YXVk", "c3Vi"))
	if idx, ok := parseIndex(data, stAt(0).UnixNano(), true); !ok || len(idx.live) != 201 {
		t.Fatalf("index holds %d live keys (parsed: %v) after concurrent appends, want 201", len(idx.live), ok)
	}
}

// TestFileStoreExpiry: expiry is the file's modification time, judged
// against the Now of each call, as the reference judges it.
func TestFileStoreExpiry(t *testing.T) {
	t.Parallel()
	st := newTestFileStore(t)
	path := filepath.Join(st.Dir(), "session_"+fkA)
	// A record the reference wrote: the value, then the expiry as mtime.
	os.WriteFile(path, []byte(`["ref"]`), 0o600)
	os.Chtimes(path, time.Time{}, stAt(time.Minute))
	stGet(t, st, "session", fkA, stAt(59*time.Second), `["ref"]`)
	stMiss(t, st, "session", fkA, stAt(time.Minute))
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an expired record was not removed when read: %v", err)
	}
	// Replace keeps the expiry, and so does a stale TTL longer than the
	// record's life.
	stSet(t, st, "session", fkA, "v1", store.SetOptions{TTL: time.Minute, Now: stAt(0)})
	stSet(t, st, "session", fkA, "v2", store.SetOptions{TTL: time.Hour, Now: stAt(time.Second), Replace: true})
	if got := fileMtime(t, path); !got.Equal(stAt(time.Minute)) {
		t.Fatalf("mtime after Replace = %v, want %v", got, stAt(time.Minute))
	}
	stGet(t, st, "session", fkA, stAt(0), "v2")
	// A directory in a record's place is a store failure, not a record.
	os.Mkdir(filepath.Join(st.Dir(), "session_"+fkB), 0o700)
	if _, err := st.Get(context.Background(), "session", fkB, store.GetOptions{Now: stAt(0)}); !errors.Is(err, ErrStore) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a directory: %v, want ErrStore", err)
	}
}

// TestFileStoreGroupOfReferenceRecord: a record the reference wrote has no
// link; it is a group of one until a save rotates it and so joins it.
func TestFileStoreGroupOfReferenceRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newTestFileStore(t)
	path := filepath.Join(st.Dir(), "session_"+fkA)
	os.WriteFile(path, []byte(`["ref"]`), 0o600)
	os.Chtimes(path, time.Time{}, stAt(time.Hour))
	stSet(t, st, "session", fkB, "go", store.SetOptions{TTL: time.Hour, Now: stAt(0), OldKey: fkA, StaleTTL: time.Minute})
	stSet(t, st, "remember", fkC, "r", store.SetOptions{TTL: time.Hour, Now: stAt(0), Partner: store.RecordKey{Name: "session", Key: fkB}})
	if err := st.Delete(ctx, "session", fkA, store.DeleteOptions{Now: stAt(0)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.RecordKey{{Name: "session", Key: fkA}, {Name: "session", Key: fkB}, {Name: "remember", Key: fkC}} {
		stMiss(t, st, r.Name, r.Key, stAt(0))
	}
	// A Set whose OldKey is gone stores nothing.
	err := st.Set(ctx, "session", fkC, []byte("v"), store.SetOptions{TTL: time.Hour, Now: stAt(0), OldKey: fkA})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Set with a deleted OldKey: %v, want ErrNotFound", err)
	}
	stMiss(t, st, "session", fkC, stAt(0))
}

func TestFileStoreParseIndex(t *testing.T) {
	t.Parallel()
	exp := func(d time.Duration) string { return encodeExp(stAt(d)) }
	now := stAt(0).UnixNano()
	tests := []struct {
		name   string
		data   string
		live   []string // keys, in order
		maxExp time.Time
		strict bool // strict parsing accepts it
	}{
		{"empty", "", nil, time.Unix(0, 0), true},
		{"one", fkA + ":" + exp(time.Hour) + ";", []string{fkA}, stAt(time.Hour), true},
		{"tombstone", fkA + ":" + exp(time.Hour) + ";" + fkA + ";", nil, time.Unix(0, 0), true},
		{"re-added", fkA + ":" + exp(time.Hour) + ";" + fkA + ";" + fkA + ":" + exp(time.Minute) + ";", []string{fkA}, stAt(time.Minute), true},
		{"expired", fkA + ":" + exp(0) + ";" + fkB + ":" + exp(time.Second) + ";", []string{fkB}, stAt(time.Second), true},
		{"later entry wins", fkA + ":" + exp(time.Hour) + ";" + fkA + ":" + exp(time.Minute) + ";", []string{fkA}, stAt(time.Minute), true},
		{"rotation", fkA + ":" + exp(time.Hour) + ";" + fkB + ":" + exp(time.Hour) + ";" + fkA + ";", []string{fkB}, stAt(time.Hour), true},
		{"torn end", fkA + ":" + exp(time.Hour) + ";" + fkB + ":MX", []string{fkA}, stAt(time.Hour), false},
		{"bad expiry", fkA + ":" + exp(time.Hour) + ";" + fkB + ":!!!!!!!;", []string{fkA}, stAt(time.Hour), false},
		{"short expiry", fkB + ":MXY;" + fkA + ":" + exp(time.Hour) + ";", []string{fkA}, stAt(time.Hour), false},
		{"bad key", "a/b:" + exp(time.Hour) + ";" + fkA + ":" + exp(time.Hour) + ";", []string{fkA}, stAt(time.Hour), false},
		{"not an index", "hello world", nil, time.Unix(0, 0), false},
		{"short keys", "k:" + exp(time.Hour) + ";", []string{"k"}, stAt(time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idx, ok := parseIndex([]byte(tt.data), now, false)
			if !ok {
				t.Fatal("lenient parsing failed")
			}
			var keys []string
			for _, e := range idx.live {
				keys = append(keys, e.key)
			}
			if !slices.Equal(keys, tt.live) {
				t.Errorf("live = %v, want %v", keys, tt.live)
			}
			if got := time.Unix(idx.maxExp, 0); !got.Equal(tt.maxExp) {
				t.Errorf("maxExp = %v, want %v", got, tt.maxExp)
			}
			if _, ok := parseIndex([]byte(tt.data), now, true); ok != tt.strict {
				t.Errorf("strict ok = %v, want %v", ok, tt.strict)
			}
			// The compacted form says the same.
			again, _ := parseIndex(idx.encode(), now, true)
			if !slices.Equal(again.live, idx.live) {
				t.Errorf("compacted = %+v, want %+v", again.live, idx.live)
			}
		})
	}
}

// TestFileStoreCompaction: an index that grows past fileIndexCompact with
// mostly dead entries is rewritten with its live ones; entries another
// process appends meanwhile are kept.
func TestFileStoreCompaction(t *testing.T) {
	ctx := context.Background()
	st := newTestFileStore(t)
	md := &store.Metadata{Audiences: []string{"YXVk"}, Subjects: []string{"c3Vi"}}
	index := st.indexPath("session", "YXVk", "c3Vi")
	stSet(t, st, "remember", fkC, "r", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
	key := fkA
	stSet(t, st, "session", key, "v", store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
	largest := 0
	for i := range 200 { // each save appends 97 bytes: a compaction every ~85 saves
		next := fkB[:40] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i%26]) + string("abcdefghijklmnopqrstuvwxyz"[i/26%26]) + "x"
		stSet(t, st, "session", next, "v", store.SetOptions{TTL: time.Hour, Now: stAt(0), OldKey: key, StaleTTL: time.Second, Metadata: md})
		key = next
		info, _ := os.Stat(index)
		largest = max(largest, int(info.Size()))
	}
	if largest > fileIndexCompact+200 {
		t.Fatalf("index grew to %d bytes: not compacted", largest)
	}
	if got := stIndexKeys(t, st, "session", "YXVk", "c3Vi", stAt(0)); !slices.Equal(got, []string{key}) {
		t.Fatalf("index = %v, want [%s]", got, key)
	}

	// Cleanup compacts too. Another process holds the index open and
	// appends while it is rewritten: its entry survives.
	// A new login after the Delete: fkA, the first record of the group the
	// Delete ended, is written again in a group of its own.
	if err := st.Delete(ctx, "session", key, store.DeleteOptions{Now: stAt(0), Metadata: md}); err != nil {
		t.Fatal(err)
	}
	stSet(t, st, "session", fkA, "v", store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
	f, err := os.OpenFile(index, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	late := fkC + ":" + encodeExp(stAt(2*time.Hour)) + ";"
	testHookIndexRewritten = func(string) { f.WriteString(late) }
	defer func() { testHookIndexRewritten = nil }()
	if _, err := st.Cleanup(stAt(0)); err != nil {
		t.Fatal(err)
	}
	want := fkA + ":" + encodeExp(stAt(time.Hour)) + ";" + late
	if data, _ := os.ReadFile(index); string(data) != want {
		t.Fatalf("index after Cleanup = %q, want %q", data, want)
	}
	if got := fileMtime(t, index); !got.Equal(stAt(2 * time.Hour)) {
		t.Errorf("index mtime = %v, want the late entry's expiry", got)
	}
}

func TestFileStoreCleanup(t *testing.T) {
	t.Parallel()
	st := newTestFileStore(t, WithFileSuffix("sess"))
	dir := st.Dir()
	md := &store.Metadata{Audiences: []string{"YQ"}, Subjects: []string{"cw"}}
	long := &store.Metadata{Audiences: []string{"YQ"}, Subjects: []string{strings.Repeat("s", 300)}}
	stSet(t, st, "session", fkA, "v", store.SetOptions{TTL: time.Second, Now: stAt(0), Metadata: md})
	stSet(t, st, "session", fkB, "v", store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
	stSet(t, st, "remember", fkC, "v", store.SetOptions{TTL: time.Second, Now: stAt(0), Metadata: long})
	stSet(t, st, "session", fkC, "v", store.SetOptions{TTL: time.Second, Now: stAt(0), OldKey: fkB, StaleTTL: time.Hour})
	write := func(name, content string, mtime time.Time) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, []byte(content), 0o600)
		os.Chtimes(path, mtime, mtime)
		return path
	}
	past := stAt(-time.Hour)
	debris := write(fileTmpPrefix+"crashed", "x", time.Now().Add(-2*fileTmpMaxAge))
	fresh := write(fileTmpPrefix+"writing", "x", time.Now())
	kept := []string{ // not this store's, or not expired: left alone
		write("notes.txt", "x", past),
		write("session_"+fkA, "no suffix", past),
		write("session_short.sess", "a short key", past),
		write("session_a:b.sess", "not an index", past),
		write("legacy_dir/r00", "no magic", past),
	}
	// An index the reference left with its time at its last rotation: kept
	// while it lists a live session, its time moved to that session's expiry.
	refIndex := write("remember_YQ:cw.sess", fkB+":"+encodeExp(stAt(time.Hour))+";"+fkA+";", past)
	// The previous layout: hex(name) directories.
	legacyDir := filepath.Join(dir, "73657373696f6e")
	legacyOld := write("73657373696f6e/r6b31", "sessiongo-record 1\nold", past)
	legacyLive := write("73657373696f6e/r6b32", "sessiongo-record 9000000000000000000 abc\nlive", past)
	legacyIndex := write("73657373696f6e/i00", "k1 1\n", past)
	legacyLiveIndex := write("73657373696f6e/i01", "k2 9000000000000000000\n", past)

	n, err := st.Cleanup(stAt(time.Minute))
	if err != nil || n != 4 {
		t.Fatalf("Cleanup = %d, %v; want 4 records removed (3 files, 1 legacy)", n, err)
	}
	for _, p := range append(kept, fresh, legacyLive, legacyLiveIndex) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed", p)
		}
	}
	for _, p := range []string{debris, legacyOld, legacyIndex, st.recordPath("session", fkA), st.recordPath("session", fkC), st.recordPath("remember", fkC)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was not removed: %v", p, err)
		}
	}
	if data, _ := os.ReadFile(st.indexPath("session", "YQ", "cw")); string(data) != fkB+":"+encodeExp(stAt(time.Hour))+";" {
		t.Errorf("index after cleanup = %q, want only %s", data, fkB)
	}
	if data, _ := os.ReadFile(refIndex); string(data) != fkB+":"+encodeExp(stAt(time.Hour))+";" || !fileMtime(t, refIndex).Equal(stAt(time.Hour)) {
		t.Errorf("the reference's index after cleanup = %q, %v; want its live entry until %v", data, fileMtime(t, refIndex), stAt(time.Hour))
	}
	if _, err := os.Stat(st.indexPath("remember", "YQ", long.Subjects[0])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an index without live entries was kept: %v", err)
	}
	if got := dirNames(t, filepath.Join(dir, fileGroupDir)); len(got) != 0 {
		t.Errorf("group files of gone records kept: %v", got)
	}
	if got := dirNames(t, filepath.Join(dir, fileLinkDir)); len(got) != 0 {
		t.Errorf("links of gone records kept: %v", got)
	}
	stGet(t, st, "session", fkB, stAt(time.Minute), "v")
	// Once the last legacy file expires, its directory goes too.
	if _, err := st.Cleanup(time.Unix(0, 9000000000000000001)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacyDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty legacy directory kept: %v", err)
	}
}

func TestFileStoreCleaner(t *testing.T) {
	clock := newStoreClock()
	st := newTestFileStore(t, WithCleanupInterval(time.Millisecond), WithClock(clock.Now))
	st.cleaned = make(chan struct{}, 1)
	stSet(t, st, "session", fkA, "v", store.SetOptions{TTL: time.Second}) // zero Now: the store's clock
	clock.Add(time.Minute)
	path := st.recordPath("session", fkA)
	deadline := time.After(time.Minute) // the cleaner runs every millisecond; a minute is for a busy machine
	for {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		select {
		case <-st.cleaned:
		case <-deadline:
			t.Fatal("the cleaner did not remove the expired record")
		}
	}
	st.Stop()
	st.Stop()
	select {
	case <-st.done:
	default:
		t.Fatal("Stop returned before the cleaner ended")
	}
}

// FuzzFileIndex feeds arbitrary index files to the parser: no panic, and
// the compacted form parses strictly to the same live entries.
func FuzzFileIndex(f *testing.F) {
	f.Add([]byte(fkA + ":MXYHawA;" + fkB + ":MXYHawA;" + fkA + ";"))
	f.Add([]byte("k:MXYHawA;k;k:"))
	f.Add([]byte(";;:;a:;"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, strict := range []bool{false, true} {
			idx, ok := parseIndex(data, 1795647521e9, strict)
			if !ok {
				continue
			}
			again, ok := parseIndex(idx.encode(), 1795647521e9, true)
			if !ok || !slices.Equal(again.live, idx.live) {
				t.Fatalf("compacted %q = %+v, want %+v", idx.encode(), again.live, idx.live)
			}
		}
	})
}

// TestFileStoreSymlinks: whoever can write in the store's directory cannot
// point a record or an index at a file elsewhere for the store to read,
// append to or touch.
func TestFileStoreSymlinks(t *testing.T) {
	t.Parallel()
	if fileNoFollow == 0 {
		t.Skip("no O_NOFOLLOW on this OS")
	}
	ctx := context.Background()
	st := newTestFileStore(t)
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("secret"), 0o600)
	old := time.Unix(1e9, 0)
	os.Chtimes(target, old, old)
	md := &store.Metadata{Audiences: []string{"YXVk"}, Subjects: []string{"c3Vi"}}
	for _, link := range []string{st.recordPath("session", fkA), st.indexPath("session", "YXVk", "c3Vi")} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.Get(ctx, "session", fkA, store.GetOptions{Now: stAt(0)}); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get through a symbolic link = %q, %v; want a store error", got, err)
	}
	if _, err := st.Sessions(ctx, "session", "YXVk", "c3Vi", stAt(0)); !errors.Is(err, ErrStore) {
		t.Errorf("Sessions through a symbolic link: %v, want ErrStore", err)
	}
	if err := st.Set(ctx, "session", fkB, []byte("v"), store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md}); !errors.Is(err, ErrStore) {
		t.Errorf("Set appending through a symbolic link: %v, want ErrStore", err)
	}
	// A record replaces the link itself.
	stSet(t, st, "session", fkA, "v", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
	if data, _ := os.ReadFile(target); string(data) != "secret" || !fileMtime(t, target).Equal(old) {
		t.Errorf("the link's target changed: %q, %v", data, fileMtime(t, target))
	}
}
