package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessiongo/session/core/store"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// TestSaveGroupUpkeep checks what a save on a single server does to its
// group beside adding the record: the group outlives its longest-lived
// member by half a minute to a minute; when a save moves that expiry, it
// prunes the members scored more than a minute past whose records are gone,
// and keeps those whose records live (scored by a clock that was behind);
// the group info's expiry follows the group's.
func TestSaveGroupUpkeep(t *testing.T) {
	t.Parallel()
	for _, m := range saveModes {
		if m.name == "cluster" {
			continue // a cluster's groups are kept by its rounds (cluster.go)
		}
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			g := newGroups(t, m, "")
			seen := time.Now()
			var keys []string
			save := func(ttl time.Duration) {
				t.Helper()
				k := key(t)
				opts := store.SetOptions{Seen: seen, TTL: ttl, StaleTTL: 3 * time.Hour} // nothing made stale
				if len(keys) > 0 {
					opts.OldKey = keys[len(keys)-1]
				}
				g.set("session", k, opts)
				keys = append(keys, k)
			}
			for range 3 {
				save(time.Hour)
			}
			group := g.c.Get(g.ctx, redisstore.LinkKey(g.s.Key("session", keys[2]))).Val()
			info := redisstore.InfoKey(group)
			outlives := func(when string) {
				t.Helper()
				var longest time.Duration
				for _, k := range keys {
					longest = max(longest, g.c.PTTL(g.ctx, g.s.Key("session", k)).Val())
				}
				gt := g.c.PTTL(g.ctx, group).Val()
				if d := gt - longest; d < 29*time.Second || d > time.Minute+time.Second {
					t.Fatalf("%s: the group lives %v, its longest-lived record %v; want half a minute to a minute more", when, gt, longest)
				}
				if it := g.c.PTTL(g.ctx, info).Val(); (gt - it).Abs() > 5*time.Second {
					t.Fatalf("%s: the group info lives %v, its group %v; want the same", when, it, gt)
				}
			}
			outlives("after three saves")

			// A member whose record is gone, scored two minutes past, and a
			// live record scored as long past, as by a clock that was behind.
			goneRecord := g.s.Key("session", key(t))
			past := float64(time.Now().Add(-2 * time.Minute).UnixMilli())
			g.c.ZAdd(g.ctx, group, redis.Z{Score: past, Member: goneRecord}, redis.Z{Score: past, Member: g.s.Key("session", keys[1])})
			// Nothing moves while the group outlives its members by more
			// than half a minute.
			save(time.Hour)
			if !slices.Contains(g.c.ZRange(g.ctx, group, 0, -1).Val(), goneRecord) {
				t.Fatal("a save pruned the group while its expiry stood")
			}
			outlives("after a save that left the group's expiry")
			// A save of a longer life moves the group's expiry, and prunes.
			save(2 * time.Hour)
			members := g.c.ZRange(g.ctx, group, 0, -1).Val()
			if slices.Contains(members, goneRecord) {
				t.Fatal("a member whose record is gone was kept when the save pruned the group")
			}
			for _, k := range keys {
				if !slices.Contains(members, g.s.Key("session", k)) {
					t.Fatalf("the group lost the live record %s: members %q", k, members)
				}
			}
			outlives("after a save that moved the group's expiry")
			if h := g.c.HGetAll(g.ctx, info).Val(); h["c"] != strconv.FormatInt(seen.UnixMilli(), 10) {
				t.Fatalf("group info %v: created moved", h)
			}

			last := keys[len(keys)-1]
			g.del("session", last)
			for _, k := range keys {
				g.gone("session", k, "a record of the group after Delete")
			}
		})
	}
}

// TestSaveScriptSeesRedis7 checks that the save script tells a Redis 7
// server, whose commands and options it then uses, on every server the
// tests run.
func TestSaveScriptSeesRedis7(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := connect(t, m)
			ctx := context.Background()
			info, err := c.Info(ctx, "server").Result()
			if err != nil {
				t.Fatal(err)
			}
			_, v, _ := strings.Cut(info, "redis_version:")
			v, _, _ = strings.Cut(v, "\r\n")
			major, _, _ := strings.Cut(v, ".")
			n, err := strconv.Atoi(major)
			if err != nil {
				t.Fatalf("redis_version %q", v)
			}
			got, err := c.Eval(ctx, "return "+redisstore.LuaRedis7, []string{"k"}).Bool()
			if err != nil && !errors.Is(err, redis.Nil) { // Lua's false is a nil reply
				t.Fatal(err)
			}
			if want := n >= 7; got != want {
				t.Fatalf("Redis %s: the save script sees Redis 7 or later: %v, want %v", v, got, want)
			}
		})
	}
}
