package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// TestSaveNew: on a single server (and a Sentinel master), a save that
// joins no group and no index is one round trip and leaves no bookkeeping
// key; a key used again, which was in a group, leaves that group, so that
// deleting the group's other records keeps the new record.
func TestSaveNew(t *testing.T) {
	t.Parallel()
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			s, c := newStore(t, m)
			ctx := context.Background()
			now := time.Now()
			rt := countRounds(c)
			k := key(t)
			if err := s.Set(ctx, "session", k, []byte("first"), store.SetOptions{TTL: time.Minute, Now: now}); err != nil {
				t.Fatal(err)
			}
			if n := rt.n.Load(); n != 1 {
				t.Fatalf("a new record took %d round trips, want 1", n)
			}
			if ttl := c.PTTL(ctx, s.Key("session", k)).Val(); ttl <= 50*time.Second || ttl > time.Minute {
				t.Fatalf("the record lives %v, want a minute", ttl)
			}
			if n := c.Exists(ctx, redisstore.LinkKey(s.Key("session", k))).Val(); n != 0 {
				t.Fatal("a record of no group has a link")
			}

			// k joins a group: a save replaces it with k2.
			k2 := key(t)
			if err := s.Set(ctx, "session", k2, []byte("second"), store.SetOptions{TTL: time.Minute, StaleTTL: time.Minute, Now: now, OldKey: k}); err != nil {
				t.Fatal(err)
			}
			// k saved anew, on its own: it leaves the group.
			if err := s.Set(ctx, "session", k, []byte("again"), store.SetOptions{TTL: time.Minute, Now: now}); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "session", k2, store.DeleteOptions{Now: now}); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Get(ctx, "session", k, store.GetOptions{Now: now}); err != nil || string(v) != "again" {
				t.Fatalf("the record saved anew: %q, %v; want it kept when its old group is deleted", v, err)
			}
			if _, err := s.Get(ctx, "session", k2, store.GetOptions{Now: now}); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("the group's record after Delete: %v", err)
			}
		})
	}
}
