package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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

func TestFileStore(t *testing.T) {
	stBehaviour(t, func(t *testing.T) Store { return newTestFileStore(t) })
}

func TestFileStoreNames(t *testing.T) {
	ctx := context.Background()
	st := newTestFileStore(t)
	parent := filepath.Dir(st.Dir())
	bad := []string{"", "..", "../x", "a/b", `a\b`, "a\x00b", "a b", "a\nb", "ü", strings.Repeat("k", 128)}
	for _, p := range bad {
		for _, c := range []struct{ name, key string }{{p, "key"}, {"session", p}} {
			if err := st.Set(ctx, c.name, c.key, []byte("v"), store.SetOptions{TTL: time.Minute, Now: stAt(0)}); err == nil || !errors.Is(err, ErrStore) {
				t.Errorf("Set(%q, %q): %v, want an error matching ErrStore", c.name, c.key, err)
			}
			if _, err := st.Get(ctx, c.name, c.key, store.GetOptions{Now: stAt(0)}); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%q, %q): %v, want an invalid-name error", c.name, c.key, err)
			}
			if err := st.Delete(ctx, c.name, c.key, store.DeleteOptions{}); err == nil {
				t.Errorf("Delete(%q, %q): no error", c.name, c.key)
			}
		}
	}
	if err := st.Set(ctx, "session", "new", []byte("v"), store.SetOptions{TTL: time.Minute, OldKey: "../x"}); err == nil {
		t.Error("Set with OldKey ../x: no error")
	}
	// Cookie name tokens and base64url keys of any case are kept apart.
	stSet(t, st, "__Host-sess.id", "AbC-_1", "1", store.SetOptions{TTL: time.Minute, Now: stAt(0)})
	stSet(t, st, "__Host-sess.id", "abc-_1", "2", store.SetOptions{TTL: time.Minute, Now: stAt(0)})
	stGet(t, st, "__Host-sess.id", "AbC-_1", stAt(0), "1")
	stGet(t, st, "__Host-sess.id", "abc-_1", stAt(0), "2")
	entries, err := os.ReadDir(parent)
	if err != nil || len(entries) != 1 || entries[0].Name() != "sessions" {
		t.Fatalf("files outside the store's directory: %v %v", entries, err)
	}
	// Long audiences and subjects are fine: they only appear hashed.
	md := &store.Metadata{Audiences: []string{strings.Repeat("a", 300)}, Subjects: []string{"a/../b c"}}
	stSet(t, st, "session", "k", "v", store.SetOptions{TTL: time.Minute, Now: stAt(0), Metadata: md})
	if got := stIndexKeys(t, st, "session", md.Audiences[0], md.Subjects[0], stAt(0)); !stSameStrings(got, []string{"k"}) {
		t.Fatalf("index = %v, want [k]", got)
	}
}

func TestFileStoreFiles(t *testing.T) {
	ctx := context.Background()
	st := newTestFileStore(t)
	stSet(t, st, "session", "k", "value", store.SetOptions{TTL: 10 * time.Second, Now: stAt(0)})
	path := st.recordPath("session", "k")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := fileMagic + "1700000010000000000 " + fileGroupID(store.RecordKey{Name: "session", Key: "k"}) + "\nvalue"
	if string(data) != want {
		t.Fatalf("record file = %q, want %q", data, want)
	}
	// A record written before groups existed (no group on its first line)
	// is its own group: it opens, rotates and is deleted with its rotation.
	os.WriteFile(st.recordPath("session", "old"), []byte(fileMagic+"1700000010000000000\nold value"), 0o600)
	stGet(t, st, "session", "old", stAt(0), "old value")
	stSet(t, st, "session", "next", "v", store.SetOptions{TTL: time.Minute, Now: stAt(0), OldKey: "old", StaleTTL: time.Minute})
	if err := st.Delete(ctx, "session", "old", store.DeleteOptions{Now: stAt(0)}); err != nil {
		t.Fatal(err)
	}
	stMiss(t, st, "session", "next", stAt(0))
	// A corrupt record is a store failure, not a missing one.
	os.WriteFile(st.recordPath("session", "bad"), []byte("garbage"), 0o600)
	if _, err := st.Get(ctx, "session", "bad", store.GetOptions{Now: stAt(0)}); !errors.Is(err, ErrStore) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a corrupt record: %v, want ErrStore", err)
	}
	// An expired record is removed when read.
	stMiss(t, st, "session", "k", stAt(11*time.Second))
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("expired record file still there: %v", err)
	}
	// Two stores on one directory (two processes) see each other's records.
	other, err := NewFileStore(st.Dir())
	if err != nil {
		t.Fatal(err)
	}
	stSet(t, st, "session", "shared", "v", store.SetOptions{TTL: time.Minute, Now: stAt(0)})
	stGet(t, other, "session", "shared", stAt(0), "v")
	// Many concurrent writers leave no temporary files behind.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				st.Set(ctx, "session", "hot", []byte("v"), store.SetOptions{TTL: time.Minute, Now: stAt(0)})
			}
		}()
	}
	wg.Wait()
	files, _ := os.ReadDir(filepath.Dir(path))
	for _, f := range files {
		if strings.HasPrefix(f.Name(), fileTmpPrefix) {
			t.Fatalf("temporary file left behind: %s", f.Name())
		}
	}
}

func TestFileStoreCleanup(t *testing.T) {
	st := newTestFileStore(t)
	md := &store.Metadata{Audiences: []string{"YQ"}, Subjects: []string{"cw"}}
	stSet(t, st, "session", "a", "v", store.SetOptions{TTL: time.Second, Now: stAt(0), Metadata: md})
	stSet(t, st, "session", "b", "v", store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
	stSet(t, st, "remember", "c", "v", store.SetOptions{TTL: time.Second, Now: stAt(0)})
	debris := filepath.Join(st.nameDir("session"), fileTmpPrefix+"crashed")
	os.WriteFile(debris, []byte("x"), 0o600)
	old := time.Now().Add(-2 * fileTmpMaxAge)
	os.Chtimes(debris, old, old)
	fresh := filepath.Join(st.nameDir("session"), fileTmpPrefix+"writing")
	os.WriteFile(fresh, []byte("x"), 0o600)

	n, err := st.Cleanup(stAt(time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("Cleanup = %d, %v; want 2 records removed", n, err)
	}
	if _, err := os.Stat(debris); !errors.Is(err, os.ErrNotExist) {
		t.Error("an old temporary file was not removed")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh temporary file (a write in progress) was removed")
	}
	data, _ := os.ReadFile(st.indexPath("session", "YQ", "cw"))
	if !strings.HasPrefix(string(data), "b ") || strings.Count(string(data), "\n") != 1 {
		t.Fatalf("index file after cleanup = %q, want only b", data)
	}
	stGet(t, st, "session", "b", stAt(time.Minute), "v")
}

func TestFileStoreCleaner(t *testing.T) {
	clock := newStoreClock()
	st := newTestFileStore(t, WithCleanupInterval(time.Millisecond), WithClock(clock.Now))
	st.cleaned = make(chan struct{}, 1)
	stSet(t, st, "session", "a", "v", store.SetOptions{TTL: time.Second}) // zero Now: the store's clock
	clock.Add(time.Minute)
	path := st.recordPath("session", "a")
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

func TestNewFileStoreErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	for _, dir := range []string{"", filepath.Join(file, "sub")} {
		if _, err := NewFileStore(dir); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewFileStore(%q): %v, want ErrInvalidConfig", dir, err)
		}
	}
}
