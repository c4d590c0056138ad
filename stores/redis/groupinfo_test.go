package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessiongo/session/core/store"
)

// TestGroupInfoKey checks the info hash of a group, on a single server and
// in a cluster (where it shares its group's slot): it lives as long as its
// group, follows the group's rotations, and Delete removes it with the
// group.
func TestGroupInfoKey(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, c := newStore(t, m)
			key := strings.Repeat("k", 43)
			seen := time.Unix(1_700_000_000, 0)
			if err := s.Set(ctx, "session", key, []byte("v"), store.SetOptions{TTL: time.Hour, Now: seen, Seen: seen, Facts: []byte(`{"label":"x"}`)}); err != nil {
				t.Fatal(err)
			}
			prefix := s.Key("session", key)
			infos := scanKeys(c, "{"+prefix+"}:members:*:{info}")
			groups := scanKeys(c, "{"+prefix+"}:members:*")
			if len(infos) != 1 || len(groups) != 2 {
				t.Fatalf("info keys %v, group keys %v; want one info hash beside its group", infos, groups)
			}
			if cc, ok := c.(*redis.ClusterClient); ok {
				a, _ := cc.ClusterKeySlot(ctx, infos[0]).Result()
				b, _ := cc.ClusterKeySlot(ctx, prefix).Result()
				if a != b {
					t.Fatalf("the info hash is in slot %d, its record in %d", a, b)
				}
			}
			infoTTL := c.PTTL(ctx, infos[0]).Val()
			if infoTTL < time.Hour || infoTTL > time.Hour+2*time.Minute {
				t.Fatalf("info hash lives %v; want its group's life (the record's hour plus the grace)", infoTTL)
			}
			if h := c.HGetAll(ctx, infos[0]).Val(); h["c"] != "1700000000000" || h["s"] != "1700000000000" || h["f"] != `{"label":"x"}` {
				t.Fatalf("info hash = %v", h)
			}
			// A rotation with a later seen time and no facts: created and the
			// facts stay.
			next, later := strings.Repeat("n", 43), seen.Add(time.Minute)
			if err := s.Set(ctx, "session", next, []byte("v2"), store.SetOptions{TTL: 2 * time.Hour, StaleTTL: time.Second, OldKey: key, Now: later, Seen: later}); err != nil {
				t.Fatal(err)
			}
			info, err := s.GroupInfo(ctx, "session", next, later)
			if err != nil || !info.Created.Equal(seen) || !info.Seen.Equal(later) || string(info.Facts) != `{"label":"x"}` {
				t.Fatalf("GroupInfo after a rotation = %+v, %v", info, err)
			}
			if infoTTL := c.PTTL(ctx, infos[0]).Val(); infoTTL < 2*time.Hour || infoTTL > 2*time.Hour+2*time.Minute {
				t.Fatalf("info hash lives %v after a save of two hours; want its group's life", infoTTL)
			}
			if err := s.Delete(ctx, "session", next, store.DeleteOptions{Now: later}); err != nil {
				t.Fatal(err)
			}
			left := scanKeys(c, "{"+prefix+"}:*")
			if m.name == "cluster" {
				// the group stays marked as ended for a minute
				if len(left) != 1 || left[0] != groups[0] && left[0] != groups[1] {
					t.Fatalf("keys left after Delete: %v, want the ended group only", left)
				}
			} else if len(left) != 0 {
				t.Fatalf("keys left after Delete: %v", left)
			}
		})
	}
}
