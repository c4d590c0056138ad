package session_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// BenchmarkFileStoreRotate: the save of a signed-in session, the store
// calls of every request that saves: a new record replacing the previous
// one, and the subject index updated.
func BenchmarkFileStoreRotate(b *testing.B) {
	st, err := session.NewFileStore(filepath.Join(b.TempDir(), "sessions"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	md := &store.Metadata{Audiences: []string{"c2hvcA"}, Subjects: []string{"YWxpY2U"}}
	now := time.Now()
	key := func(i int) string {
		var id [32]byte
		binary.LittleEndian.PutUint64(id[:], uint64(i))
		return base64.RawURLEncoding.EncodeToString(id[:])
	}
	record := []byte(`["` + key(-1) + key(-2) + `"]`)
	if err := st.Set(ctx, "session", key(0), record, store.SetOptions{TTL: time.Hour, Now: now, Metadata: md}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		opts := store.SetOptions{TTL: time.Hour, Now: now, OldKey: key(i - 1), StaleTTL: 10 * time.Second, Metadata: md}
		if i%512 == 0 { // a new login: a group holds at most 1024 records
			opts.OldKey = ""
		}
		if err := st.Set(ctx, "session", key(i), record, opts); err != nil {
			b.Fatal(err)
		}
	}
}
