package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// TestFileGroupInfoFiles checks that the group info files go with their
// group: on Delete, and on Cleanup once every record of the group expired.
func TestFileGroupInfoFiles(t *testing.T) {
	ctx := context.Background()
	key := func(c string) string { return strings.Repeat(c, 43) }
	tests := []struct {
		name string
		end  func(t *testing.T, st *FileStore, s1, r1 string)
	}{
		{"delete", func(t *testing.T, st *FileStore, s1, r1 string) {
			if err := st.Delete(ctx, "session", s1, store.DeleteOptions{Now: stT0}); err != nil {
				t.Fatal(err)
			}
		}},
		{"cleanup", func(t *testing.T, st *FileStore, s1, r1 string) {
			if _, err := st.Cleanup(stT0.Add(2 * time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestFileStore(t)
			s1, r1, lone := key("a"), key("b"), key("c")
			set := func(name, k string, ttl time.Duration, partner store.RecordKey) {
				t.Helper()
				if err := st.Set(ctx, name, k, []byte("v"), store.SetOptions{TTL: ttl, Now: stT0, Seen: stT0, Partner: partner, Facts: []byte(`{"label":"x"}`)}); err != nil {
					t.Fatal(err)
				}
			}
			set("session", s1, time.Hour, store.RecordKey{})
			set("remember", r1, time.Hour, store.RecordKey{Name: "session", Key: s1})
			set("session", lone, 3*time.Hour, store.RecordKey{})
			dir := filepath.Join(st.dir, fileGroupInfoDir)
			if files, _ := os.ReadDir(dir); len(files) != 2 {
				t.Fatalf("%d group info files, want 2", len(files))
			}
			tt.end(t, st, s1, r1)
			files, _ := os.ReadDir(dir)
			if len(files) != 1 {
				t.Fatalf("%d group info files after the group ended, want 1 (the other group's)", len(files))
			}
			info, err := st.GroupInfo(ctx, "session", lone, stT0)
			if err != nil || string(info.Facts) != `{"label":"x"}` || files[0].Name() != info.ID {
				t.Fatalf("the other group's info: %+v, %v", info, err)
			}
		})
	}
}
