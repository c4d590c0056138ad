package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// markKey is a mark key as core makes them: a kind, a colon and 43
// base64url characters.
func markKey(kind string) string {
	var b [32]byte
	rand.Read(b[:])
	return kind + ":" + base64.RawURLEncoding.EncodeToString(b[:])
}

func TestRevokedKeyNames(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: singleAddr})
	defer c.Close()
	tests := []struct{ name, prefix, suffix, want string }{
		{"bare", "", "", "revoked:sid:HASH"},
		{"prefix", "app", "", "app:revoked:sid:HASH"},
		{"suffix", "", "v1", "revoked:sid:HASH:v1"},
		{"both", "app", "v1", "app:revoked:sid:HASH:v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, c, redisstore.WithPrefix(tt.prefix), redisstore.WithSuffix(tt.suffix))
			if got := s.RevokedKey("sid:HASH"); got != tt.want {
				t.Errorf("RevokedKey = %q, want %q ([prefix:]revoked:key[:suffix])", got, tt.want)
			}
		})
	}
}

func TestRevokerOnServers(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testRevoker(t, m)
		})
	}
}

func testRevoker(t *testing.T, m mode) {
	ctx := context.Background()
	base := time.Unix(time.Now().Unix(), 0)
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

	// A mark as a test writes it: key index, At in seconds from base, TTL.
	type mark struct {
		key int
		at  int
		ttl time.Duration
	}
	const none = -1 << 30 // no live mark
	tests := []struct {
		name    string
		revokes [][]mark              // Revoke calls, in order
		lookup  []int                 // the keys Revoked is asked for
		want    []int                 // At of each answer in seconds from base, or none
		minTTL  map[int]time.Duration // key -> least PTTL expected after the calls
		maxTTL  map[int]time.Duration // key -> most PTTL expected after the calls
	}{
		{
			name:   "missing keys",
			lookup: []int{0, 1},
			want:   []int{none, none},
		},
		{
			name:    "answers in the order of the keys",
			revokes: [][]mark{{{0, -3, time.Hour}, {1, -2, time.Hour}}, {{2, -1, time.Hour}}},
			lookup:  []int{2, 3, 0, 1, 0},
			want:    []int{-1, none, -3, -2, -3},
		},
		{
			name: "later At wins",
			revokes: [][]mark{
				{{0, 0, time.Hour}, {1, -60, time.Hour}},
				{{0, -60, time.Hour}, {1, 0, time.Hour}},
				{{2, 0, time.Hour}, {2, -5, time.Hour}}, // twice in one call
				{{3, -5, time.Hour}, {3, 0, time.Hour}},
			},
			lookup: []int{0, 1, 2, 3},
			want:   []int{0, 0, 0, 0},
		},
		{
			name: "expiry extended, never shortened",
			revokes: [][]mark{
				{{0, 0, time.Hour}, {1, 0, 10 * time.Second}, {2, -5, time.Hour}},
				{{0, 0, 10 * time.Second}, {1, 0, time.Hour}, {2, 0, 10 * time.Second}},
			},
			lookup: []int{0, 1, 2},
			want:   []int{0, 0, 0}, // 2: the later At, with the earlier mark's longer expiry
			minTTL: map[int]time.Duration{0: time.Hour - time.Minute, 1: time.Hour - time.Minute, 2: time.Hour - time.Minute},
			maxTTL: map[int]time.Duration{0: time.Hour, 1: time.Hour, 2: time.Hour},
		},
		{
			name:    "a TTL under a second is kept a second",
			revokes: [][]mark{{{0, 0, 10 * time.Millisecond}, {1, 0, 0}, {2, 0, -time.Hour}}},
			lookup:  []int{0, 1, 2},
			want:    []int{0, 0, 0},
			minTTL:  map[int]time.Duration{0: 500 * time.Millisecond, 1: 500 * time.Millisecond, 2: 500 * time.Millisecond},
			maxTTL:  map[int]time.Duration{0: time.Second, 1: time.Second, 2: time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newStore(t, m)
			keys := make([]string, 8)
			for i := range keys {
				keys[i] = markKey([]string{"sid", "sub", "key"}[i%3])
			}
			for _, call := range tt.revokes {
				marks := make([]store.Mark, len(call))
				for i, mk := range call {
					marks[i] = store.Mark{Key: keys[mk.key], At: at(mk.at), TTL: mk.ttl}
				}
				if err := s.Revoke(ctx, marks, time.Now()); err != nil {
					t.Fatalf("Revoke(%v): %v", call, err)
				}
			}
			lookup := make([]string, len(tt.lookup))
			for i, k := range tt.lookup {
				lookup[i] = keys[k]
			}
			got, err := s.Revoked(ctx, lookup, time.Now())
			if err != nil {
				t.Fatalf("Revoked: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Revoked returned %d answers for %d keys", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				switch {
				case w == none && !got[i].IsZero():
					t.Errorf("answer %d (key %d) = %v, want the zero Time: no live mark", i, tt.lookup[i], got[i])
				case w != none && !got[i].Equal(at(w)):
					t.Errorf("answer %d (key %d) = %v, want %v", i, tt.lookup[i], got[i], at(w))
				}
			}
			for k, least := range tt.minTTL {
				ttl := c.PTTL(ctx, s.RevokedKey(keys[k])).Val()
				if ttl < least || ttl > tt.maxTTL[k] {
					t.Errorf("PTTL of mark %d = %v, want in [%v, %v]", k, ttl, least, tt.maxTTL[k])
				}
			}
		})
	}

	t.Run("layout: decimal unix seconds under [prefix:]revoked:key[:suffix]", func(t *testing.T) {
		s, c := newStore(t, m, redisstore.WithSuffix("v1"))
		k := markKey("sub")
		start := time.Now()
		if err := s.Revoke(ctx, []store.Mark{{Key: k, At: at(0).Add(900 * time.Millisecond), TTL: time.Minute}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		name := s.RevokedKey(k)
		if v, err := c.Get(ctx, name).Result(); err != nil || v != strconv.FormatInt(base.Unix(), 10) {
			t.Fatalf("GET %s = %q, %v; want %q (At in whole unix seconds)", name, v, err, strconv.FormatInt(base.Unix(), 10))
		}
		ttl := c.PTTL(ctx, name).Val()
		if elapsed := time.Since(start); ttl < time.Minute-elapsed-time.Millisecond || ttl > time.Minute {
			t.Fatalf("PTTL of %s = %v %v after the Revoke, want 1m less that", name, ttl, elapsed)
		}
	})

	t.Run("marks expire with their TTL", func(t *testing.T) {
		s, _ := newStore(t, m)
		short, long := markKey("sid"), markKey("sid")
		err := s.Revoke(ctx, []store.Mark{{Key: short, At: at(0), TTL: time.Second}, {Key: long, At: at(0), TTL: time.Hour}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			got, err := s.Revoked(ctx, []string{short, long}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got[1].IsZero() {
				t.Fatal("the mark with a TTL of an hour is gone")
			}
			if got[0].IsZero() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the mark with a TTL of a second is still there after 20s")
			}
		}
	})

	t.Run("many keys in one call", func(t *testing.T) {
		s, _ := newStore(t, m)
		const n = 1000
		marks := make([]store.Mark, n)
		lookup := make([]string, 0, n+n/10)
		for i := range marks {
			marks[i] = store.Mark{Key: markKey("key"), At: at(-i), TTL: time.Minute}
			lookup = append(lookup, marks[i].Key)
			if i%10 == 0 {
				lookup = append(lookup, markKey("key")) // never revoked
			}
		}
		if err := s.Revoke(ctx, marks, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := s.Revoked(ctx, lookup, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for j, k := range lookup {
			if i < n && k == marks[i].Key {
				if !got[j].Equal(marks[i].At) {
					t.Fatalf("answer %d = %v, want %v", j, got[j], marks[i].At)
				}
				i++
			} else if !got[j].IsZero() {
				t.Fatalf("answer %d (never revoked) = %v, want the zero Time", j, got[j])
			}
		}
	})

	t.Run("concurrent revokes keep the latest At and the longest TTL", func(t *testing.T) {
		s, c := newStore(t, m)
		k := markKey("sub")
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Revoke(ctx, []store.Mark{{Key: k, At: at(i), TTL: time.Duration(i+1) * time.Minute}}, time.Now())
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Revoked(ctx, []string{k}, time.Now())
		if err != nil || !got[0].Equal(at(19)) {
			t.Fatalf("Revoked = %v, %v; want %v", got, err, at(19))
		}
		if ttl := c.PTTL(ctx, s.RevokedKey(k)).Val(); ttl < 19*time.Minute {
			t.Fatalf("PTTL = %v, want about 20m (the longest)", ttl)
		}
	})

	t.Run("round trips", func(t *testing.T) {
		// One lookup of any number of keys is one round trip on a single
		// server or Sentinel master; in a cluster one round, to each node
		// holding a key in parallel.
		s, c := newStore(t, m)
		if err := redisstore.LoadRevokeScript(ctx, c); err != nil {
			t.Fatal(err)
		}
		keys := []string{markKey("sid"), markKey("sub"), markKey("key"), markKey("key"), markKey("key")}
		marks := []store.Mark{{Key: keys[0], At: at(0), TTL: time.Minute}, {Key: keys[2], At: at(0), TTL: time.Minute}}
		rounds, trips := countRounds(c), countRoundTrips(c)
		cluster := m.name == "cluster"
		tests := []struct {
			name string
			keys []string
			op   func() error
		}{
			{"revoke of two marks", []string{keys[0], keys[2]}, func() error { return s.Revoke(ctx, marks, time.Now()) }},
			{"lookup of three keys", keys[:3], func() error { _, err := s.Revoked(ctx, keys[:3], time.Now()); return err }},
			{"lookup of five keys", keys, func() error { _, err := s.Revoked(ctx, keys, time.Now()); return err }},
		}
		for _, tt := range tests {
			want := int64(1)
			if cluster {
				want = int64(nodesOf(t, c, s, tt.keys))
			}
			rounds.n.Store(0)
			trips.n.Store(0)
			if err := tt.op(); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if r, n := rounds.n.Load(), trips.n.Load(); r != 1 || n != want {
				t.Errorf("%s took %d rounds and %d round trips, want 1 round and %d round trips (one per node holding a key)",
					tt.name, r, n, want)
			}
		}
		rounds.n.Store(0)
		trips.n.Store(0)
		if got, err := s.Revoked(ctx, nil, time.Now()); err != nil || len(got) != 0 {
			t.Fatalf("Revoked(nil) = %v, %v; want no answers", got, err)
		}
		if err := s.Revoke(ctx, nil, time.Now()); err != nil {
			t.Fatalf("Revoke(nil): %v", err)
		}
		if n := trips.n.Load(); n != 0 {
			t.Errorf("empty calls took %d round trips, want 0", n)
		}
	})

	t.Run("a mark that is not a number is an error", func(t *testing.T) {
		s, c := newStore(t, m)
		k := markKey("sid")
		if err := c.Set(ctx, s.RevokedKey(k), "not a time", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Revoked(ctx, []string{markKey("sid"), k}, time.Now()); !errors.Is(err, session.ErrStore) {
			t.Fatalf("Revoked of a corrupt mark = %v, %v; want ErrStore (unknown, never \"not revoked\")", got, err)
		}
		// A new mark replaces it.
		if err := s.Revoke(ctx, []store.Mark{{Key: k, At: at(0), TTL: time.Minute}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Revoked(ctx, []string{k}, time.Now()); err != nil || !got[0].Equal(at(0)) {
			t.Fatalf("Revoked after a new mark = %v, %v; want %v", got, err, at(0))
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		s, _ := newStore(t, m)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		k := markKey("sid")
		if err := s.Revoke(cctx, []store.Mark{{Key: k, At: at(0), TTL: time.Minute}}, time.Now()); !errors.Is(err, session.ErrStore) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Revoke with a cancelled context: %v, want ErrStore and context.Canceled", err)
		}
		if _, err := s.Revoked(cctx, []string{k}, time.Now()); !errors.Is(err, session.ErrStore) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Revoked with a cancelled context: %v, want ErrStore and context.Canceled", err)
		}
		if got, err := s.Revoked(ctx, []string{k}, time.Now()); err != nil || !got[0].IsZero() {
			t.Fatalf("mark written despite the cancelled context: %v, %v", got, err)
		}
	})
}

// nodesOf returns how many masters of the cluster c hold the marks of keys.
func nodesOf(t *testing.T, c redis.UniversalClient, s *redisstore.Store, keys []string) int {
	t.Helper()
	ctx := context.Background()
	ranges, err := c.(*redis.ClusterClient).ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]bool{}
	for _, k := range keys {
		slot := int(c.ClusterKeySlot(ctx, s.RevokedKey(k)).Val())
		for _, r := range ranges {
			if r.Start <= slot && slot <= r.End {
				nodes[r.Nodes[0].Addr] = true
			}
		}
	}
	return len(nodes)
}

// TestRevokerWaitReplicas writes marks through the Sentinel master with
// WithWaitReplicas: the WAIT rides in the same round trip, and a single
// server without replicas fails the write with ErrStore (the marks were
// kept on the master, but a failover could lose them).
func TestRevokerWaitReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mark := []store.Mark{{Key: markKey("sid"), At: time.Now(), TTL: time.Minute}}

	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		c := connect(t, modes[1])
		s := mustNew(t, c, redisstore.WithPrefix(testPrefix(t, c)), redisstore.WithWaitReplicas(1, 30*time.Second))
		if err := redisstore.LoadRevokeScript(ctx, c); err != nil {
			t.Fatal(err)
		}
		trips := countRoundTrips(c)
		if err := s.Revoke(ctx, mark, time.Now()); err != nil {
			t.Fatalf("Revoke with WithWaitReplicas(1): %v", err)
		}
		if n := trips.n.Load(); n != 1 {
			t.Errorf("Revoke with WAIT took %d round trips, want 1", n)
		}
	})

	t.Run("single without replicas", func(t *testing.T) {
		t.Parallel()
		c := connect(t, modes[0])
		if info, _ := c.Info(ctx, "replication").Result(); !strings.Contains(info, "connected_slaves:0") {
			t.Skipf("%s has replicas", singleAddr)
		}
		s := mustNew(t, c, redisstore.WithPrefix(testPrefix(t, c)), redisstore.WithWaitReplicas(1, 100*time.Millisecond))
		if err := s.Revoke(ctx, mark, time.Now()); !errors.Is(err, session.ErrStore) {
			t.Fatalf("Revoke that no replica acknowledged: %v, want ErrStore", err)
		}
	})
}

// TestRevokerUnreachable: with no server, both calls fail with an error
// matching ErrStore, which the session library reads as "unknown".
func TestRevokerUnreachable(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: spareAddr(t), MaxRetries: -1})
	defer c.Close()
	s := mustNew(t, c)
	ctx := context.Background()
	if err := s.Revoke(ctx, []store.Mark{{Key: markKey("sid"), At: time.Now(), TTL: time.Minute}}, time.Now()); !errors.Is(err, session.ErrStore) {
		t.Errorf("Revoke with no server: %v, want ErrStore", err)
	}
	if got, err := s.Revoked(ctx, []string{markKey("sid")}, time.Now()); !errors.Is(err, session.ErrStore) || got != nil {
		t.Errorf("Revoked with no server: %v, %v; want no answers and ErrStore", got, err)
	}
}
