package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// TestStoreRevokers checks the memory and file stores' store.Revoker
// beyond the conformance suite: cleanup, bounds and invalid marks.
func TestStoreRevokers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		st      func(t *testing.T) store.Revoker
		cleanup func(st store.Revoker, now time.Time)
	}{
		{"memory", func(*testing.T) store.Revoker { return newRevStore(4) },
			func(st store.Revoker, now time.Time) { st.(*MemoryStore).Cleanup(now) }},
		{"file", func(t *testing.T) store.Revoker { return newTestFileStore(t, nil) },
			func(st store.Revoker, now time.Time) { st.(*FileStore).Cleanup(now) }}, //nolint:errcheck
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := tt.st(t)
			mark := func(key string, at time.Time, ttl time.Duration) store.Mark {
				return store.Mark{Key: key, At: at, TTL: ttl}
			}
			k1, k2 := "sid:"+strings.Repeat("A", 43), "key:"+strings.Repeat("B", 43)
			if err := st.Revoke(ctx, []store.Mark{mark(k1, stT0, time.Minute), mark(k2, stT0.Add(-time.Hour), time.Hour)}, stT0); err != nil {
				t.Fatal(err)
			}
			got, err := st.Revoked(ctx, []string{k2, "sub:none", k1}, stT0.Add(30*time.Second))
			if err != nil || len(got) != 3 || !got[0].Equal(stT0.Add(-time.Hour)) || !got[1].IsZero() || !got[2].Equal(stT0) {
				t.Fatalf("Revoked = %v, %v", got, err)
			}
			for _, bad := range []store.Mark{mark("", stT0, time.Minute), mark(k1, stT0, 0), mark(k1, time.Time{}, time.Minute)} {
				if err := st.Revoke(ctx, []store.Mark{bad}, stT0); !errors.Is(err, ErrStore) {
					t.Errorf("Revoke(%+v) = %v, want ErrStore", bad, err)
				}
			}
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if err := st.Revoke(cancelled, []store.Mark{mark(k1, stT0, time.Minute)}, stT0); err == nil {
				t.Error("Revoke with a cancelled context succeeded")
			}
			if _, err := st.Revoked(cancelled, []string{k1}, stT0); err == nil {
				t.Error("Revoked with a cancelled context succeeded")
			}
			tt.cleanup(st, stT0.Add(2*time.Minute))
			got, _ = st.Revoked(ctx, []string{k1, k2}, stT0)
			if !got[0].IsZero() || got[1].IsZero() {
				t.Fatalf("after Cleanup: %v; want the expired mark gone and the live one kept", got)
			}
		})
	}

	t.Run("memory full", func(t *testing.T) {
		t.Parallel()
		st := newRevStore(2)
		marks := func(keys ...string) []store.Mark {
			var out []store.Mark
			for _, k := range keys {
				out = append(out, store.Mark{Key: k, At: stT0, TTL: time.Minute})
			}
			return out
		}
		if err := st.Revoke(ctx, marks("a", "b"), stT0); err != nil {
			t.Fatal(err)
		}
		if err := st.Revoke(ctx, marks("a", "c"), stT0); !errors.Is(err, ErrStore) {
			t.Fatalf("a third live mark: %v, want ErrStore (marks are never evicted)", err)
		}
		if got, _ := st.Revoked(ctx, []string{"a"}, stT0.Add(time.Second)); got[0].IsZero() {
			t.Fatal("a live mark is gone")
		}
		if err := st.Revoke(ctx, marks("a", "b"), stT0); err != nil {
			t.Fatalf("marks already held: %v", err)
		}
		if err := st.Revoke(ctx, marks("c"), stT0.Add(2*time.Minute)); err != nil {
			t.Fatalf("after the others expired: %v", err)
		}
	})

	t.Run("file invalid key", func(t *testing.T) {
		t.Parallel()
		st := newTestFileStore(t, nil)
		if _, err := st.Revoked(ctx, []string{"../x"}, stT0); !errors.Is(err, ErrStore) {
			t.Fatalf("Revoked of an invalid key: %v", err)
		}
		if err := st.Revoke(ctx, []store.Mark{{Key: "a b", At: stT0, TTL: time.Minute}}, stT0); !errors.Is(err, ErrStore) {
			t.Fatalf("Revoke of an invalid key: %v", err)
		}
	})
}
