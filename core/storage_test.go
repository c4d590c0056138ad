package session

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []StoreOption
		memory string // "" when NewMemoryStore accepts opts, else part of its error
		file   string // the same for NewFileStore
	}{
		{"none", nil, "", ""},
		{"nil option", []StoreOption{nil}, "", ""},
		{"shared", []StoreOption{WithCleanupInterval(time.Minute), WithClock(time.Now)}, "", ""},
		{"zero values", []StoreOption{WithCleanupInterval(0)}, "", ""},
		{"max entries", []StoreOption{WithMaxEntries(10)}, "", "WithMaxEntries applies to the memory store only"},
		{"max entries zero", []StoreOption{WithMaxEntries(0)}, "", "WithMaxEntries applies to the memory store only"},
		{"sync", []StoreOption{WithSync()}, "WithSync applies to the file store only", ""},
		{"negative max entries", []StoreOption{WithMaxEntries(-1)}, "negative number of records", "negative number of records"},
		{"negative interval", []StoreOption{WithCleanupInterval(-time.Second)}, "negative interval", "negative interval"},
		{"nil clock", []StoreOption{WithClock(nil)}, "nil clock", "nil clock"},
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

// checkStoreErr reports a constructor's err unless it is what want says: nil for
// an empty want, else an error matching ErrInvalidConfig that contains want.
func checkStoreErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v, want no error", what, err)
	case want != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: %v, want an error matching ErrInvalidConfig about %q", what, err, want)
	}
}

func TestMemoryStoreMaxEntries(t *testing.T) {
	t.Parallel()
	capacity := func(st *MemoryStore) int {
		n := 0
		for i := range st.shards {
			n += st.shards[i].capacity
		}
		return n
	}
	if got := capacity(newTestMemoryStore(t)); got != DefaultMemoryStoreMaxEntries {
		t.Errorf("default capacity %d, want %d", got, DefaultMemoryStoreMaxEntries)
	}
	if got := capacity(newTestMemoryStore(t, WithMaxEntries(0))); got != DefaultMemoryStoreMaxEntries {
		t.Errorf("WithMaxEntries(0): capacity %d, want the default %d", got, DefaultMemoryStoreMaxEntries)
	}
	if got := capacity(newTestMemoryStore(t, WithMaxEntries(1000))); got != 1000 {
		t.Errorf("WithMaxEntries(1000): capacity %d", got)
	}
}

func TestFileStoreSyncOption(t *testing.T) {
	t.Parallel()
	if newTestFileStore(t).sync {
		t.Error("sync on by default")
	}
	if !newTestFileStore(t, WithSync()).sync {
		t.Error("WithSync: sync off")
	}
}
