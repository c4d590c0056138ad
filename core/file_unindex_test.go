package session

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

func TestFileStoreRecordNames(t *testing.T) {
	t.Parallel()
	st := newTestFileStore(t, WithFilePrefix("p"), WithFileSuffix("s"))
	tests := []struct {
		base string
		want []store.RecordKey
	}{
		{"p_session_" + fkA + ".s", []store.RecordKey{{Name: "session", Key: fkA}}},
		// A name and a key may both hold '_': every split names the file.
		{"p_my_session_" + fkB + ".s", []store.RecordKey{
			{Name: "my", Key: "session_" + fkB},
			{Name: "my_session", Key: fkB},
			{Name: "my_session_hXuy0wxxQYONBWZYNN", Key: "TftebIIm3UHQRmkKLYe1A1eI"},
		}},
		{"session_" + fkA + ".s", nil},         // no prefix
		{"p_session_" + fkA, nil},              // no suffix
		{"p_session_" + fkA + "=" + ".s", nil}, // not base64url
		{"p_session.s", nil},
		{"p__" + fkA + ".s", nil}, // an empty name
	}
	for _, tt := range tests {
		if got := st.recordNames(tt.base); !slices.Equal(got, tt.want) {
			t.Errorf("recordNames(%q) = %v, want %v", tt.base, got, tt.want)
		}
	}
}

// TestFileStoreDeleteUnindexesGroup: Delete marks the group's other records
// deleted in the indexes of their cookie names that list them (the
// remember record's index after a destroy by the session record), and
// makes no index where none lists them.
func TestFileStoreDeleteUnindexesGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newTestFileStore(t, WithFilePrefix("p"), WithFileSuffix("s"))
	md := &store.Metadata{Audiences: []string{"YXBwLWE", "YXBwLWI"}, Subjects: []string{"YWxpY2U", "YWxpY2U"}}
	now := stAt(0)
	remember := "r_" + fkC[2:] // a key with '_', in a cookie name with one
	stSet(t, st, "my_session", fkA, "s", store.SetOptions{TTL: time.Hour, Now: now, Metadata: md})
	stSet(t, st, "my_remember", remember, "r", store.SetOptions{TTL: time.Hour, Now: now, Metadata: md, Partner: store.RecordKey{Name: "my_session", Key: fkA}})
	stSet(t, st, "my_session", fkB, "s2", store.SetOptions{TTL: time.Hour, Now: now, Metadata: md, OldKey: fkA, StaleTTL: time.Minute})
	// A record of the group that no index lists.
	stSet(t, st, "other", fkC, "o", store.SetOptions{TTL: time.Hour, Now: now, Partner: store.RecordKey{Name: "my_session", Key: fkB}})
	before := dirNames(t, st.dir)
	if err := st.Delete(ctx, "my_session", fkB, store.DeleteOptions{Now: now, Metadata: md}); err != nil {
		t.Fatal(err)
	}
	for i := range md.Audiences {
		pair := md.Audiences[i] + ":" + md.Subjects[i]
		for _, c := range []struct{ file, want string }{
			// The reference's tombstone of the deleted key, after the
			// rotation's.
			{"p_my_session_" + pair + ".s", fkA + ":" + encodeExp(stAt(time.Hour)) + ";" + fkB + ":" + encodeExp(stAt(time.Hour)) + ";" + fkA + ";" + fkB + ";"},
			// The remember record's key, which no Delete call names.
			{"p_my_remember_" + pair + ".s", remember + ":" + encodeExp(stAt(time.Hour)) + ";" + remember + ";"},
		} {
			data, err := os.ReadFile(filepath.Join(st.dir, c.file))
			if err != nil || string(data) != c.want {
				t.Errorf("%s = %q, %v; want %q", c.file, data, err, c.want)
			}
		}
		if got := stIndexKeys(t, st, "my_remember", md.Audiences[i], md.Subjects[i], now); len(got) != 0 {
			t.Errorf("remember index of pair %d lists %v after the group's Delete", i, got)
		}
	}
	for _, f := range dirNames(t, st.dir) {
		if !slices.Contains(before, f) {
			t.Errorf("Delete made %s", f)
		}
	}
}
