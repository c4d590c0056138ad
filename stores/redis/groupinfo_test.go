package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// TestGroupInfoKey checks the info hash of a group on a single server: it
// lives as long as its group, and Delete removes it with the group.
func TestGroupInfoKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newStore(t, modes[0])
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
	infoTTL := c.PTTL(ctx, infos[0]).Val()
	if infoTTL < time.Hour || infoTTL > time.Hour+2*time.Minute {
		t.Fatalf("info hash lives %v; want its group's life (the record's hour plus the grace)", infoTTL)
	}
	if h := c.HGetAll(ctx, infos[0]).Val(); h["c"] != "1700000000000" || h["s"] != "1700000000000" || h["f"] != `{"label":"x"}` {
		t.Fatalf("info hash = %v", h)
	}
	if err := s.Delete(ctx, "session", key, store.DeleteOptions{Now: seen}); err != nil {
		t.Fatal(err)
	}
	if left := scanKeys(c, "{"+prefix+"}:*"); len(left) != 0 {
		t.Fatalf("keys left after Delete: %v", left)
	}
}
