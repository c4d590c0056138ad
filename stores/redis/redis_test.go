package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// The servers the tests use; scripts/services.sh starts all but the single
// Redis, and .ci/services.env sets these variables.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var (
	singleAddr     = env("SESSIONGO_REDIS_ADDR", "127.0.0.1:6379")
	sentinelAddrs  = strings.Split(env("SESSIONGO_REDIS_SENTINEL_ADDRS", "127.0.0.1:26390,127.0.0.1:26391,127.0.0.1:26392"), ",")
	sentinelMaster = env("SESSIONGO_REDIS_SENTINEL_MASTER", "sessiongo")
	failoverMaster = env("SESSIONGO_REDIS_FAILOVER_MASTER", "sessiongo-failover")
	clusterAddrs   = strings.Split(env("SESSIONGO_REDIS_CLUSTER_ADDRS", "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"), ",")
)

// mode is one way of reaching Redis, with the options of its stores.
type mode struct {
	name string
	dial func() redis.UniversalClient
	opts []redisstore.Option
}

// testTimeout bounds each call of the tests' clients (dial, read, write,
// waiting for a pooled connection): go-redis's defaults (5 s to dial, 3 s
// to read) are too short on a loaded shared machine, where the conformance
// suite's 16 MiB records would fail with an i/o timeout that says nothing
// about the store. It only ever delays the failure of a hung server.
const testTimeout = 30 * time.Second

var modes = []mode{
	{"single", dialSingle, nil},
	{"sentinel", func() redis.UniversalClient {
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: sentinelMaster, SentinelAddrs: sentinelAddrs, ContextTimeoutEnabled: true,
			DialTimeout: testTimeout, ReadTimeout: testTimeout, WriteTimeout: testTimeout, PoolTimeout: testTimeout,
		})
	}, nil},
	{"cluster", func() redis.UniversalClient {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: clusterAddrs, ContextTimeoutEnabled: true,
			DialTimeout: testTimeout, ReadTimeout: testTimeout, WriteTimeout: testTimeout, PoolTimeout: testTimeout,
		})
	}, nil},
}

// saveModes are modes and the single server once more, saving as on a
// server before Redis 7: the tests of saves run both of the save script's
// paths.
var saveModes = append(modes[:len(modes):len(modes)],
	mode{"single-before-7", dialSingle, []redisstore.Option{redisstore.WithSavesBeforeRedis7()}})

func dialSingle() redis.UniversalClient {
	return redis.NewClient(&redis.Options{
		Addr: singleAddr, ContextTimeoutEnabled: true,
		DialTimeout: testTimeout, ReadTimeout: testTimeout, WriteTimeout: testTimeout, PoolTimeout: testTimeout,
	})
}

// unavailable skips the test, or fails it when SESSIONGO_REQUIRE_SERVICES=1.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("SESSIONGO_REQUIRE_SERVICES") == "1" {
		t.Fatalf(format+" (SESSIONGO_REQUIRE_SERVICES=1; start the servers with scripts/services.sh start)", args...)
	}
	t.Skipf(format+" (start the servers with scripts/services.sh start)", args...)
}

// connect returns a client of mode m, checked with a PING (a SET in a
// cluster, so that every slot is served), closed at the end of the test.
func connect(t testing.TB, m mode) redis.UniversalClient {
	t.Helper()
	c := m.dial()
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		unavailable(t, "redis %s unreachable: %v", m.name, err)
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		err := cc.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() })
		if err != nil {
			unavailable(t, "redis cluster node unreachable: %v", err)
		}
	}
	return c
}

// testPrefix returns a key prefix of its own for one test, and deletes
// every key under it when the test ends.
func testPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "sessiongo-test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		// record and index keys, and the group bookkeeping keys
		for _, match := range []string{prefix + ":*", "{" + prefix + ":*"} {
			for _, k := range scanKeys(c, match) {
				c.Del(context.Background(), k)
			}
		}
	})
	return prefix
}

// scanKeys returns the keys that match a SCAN pattern, on every master of a
// cluster.
func scanKeys(c redis.UniversalClient, match string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, n redis.UniversalClient) error {
		iter := n.Scan(ctx, 0, match, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
	} else {
		scan(ctx, c)
	}
	return keys
}

// newStore returns a store of its own (own prefix) on mode m.
func newStore(t testing.TB, m mode, opts ...redisstore.Option) (*redisstore.Store, redis.UniversalClient) {
	t.Helper()
	c := connect(t, m)
	opts = append(append([]redisstore.Option{redisstore.WithPrefix(testPrefix(t, c))}, m.opts...), opts...)
	return mustNew(t, c, opts...), c
}

// mustNew returns redisstore.New(c, opts...), failing the test on an error.
func mustNew(t testing.TB, c redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// roundTrips counts the exchanges with a server: commands and pipelines
// sent to each node (a cluster's nodes are counted one by one).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// countRounds installs a roundTrips hook on c itself: it counts the calls
// and pipelines the application sends, each one round of latency (a
// cluster client sends a pipeline's parts to their nodes in parallel).
func countRounds(c redis.UniversalClient) *roundTrips {
	r := &roundTrips{}
	c.AddHook(r)
	return r
}

// countRoundTrips installs a roundTrips hook on c (on every node of a
// cluster).
func countRoundTrips(c redis.UniversalClient) *roundTrips {
	r := &roundTrips{}
	switch c := c.(type) {
	case *redis.ClusterClient:
		c.OnNewNode(func(n *redis.Client) { n.AddHook(r) })
		c.ForEachShard(context.Background(), func(ctx context.Context, n *redis.Client) error {
			n.AddHook(r) // the nodes connect already made
			return nil
		})
	case *redis.Client:
		c.AddHook(r)
	}
	return r
}

// TestNewErrors checks that New refuses what cannot work, with an error
// matching session.ErrInvalidConfig, and accepts any prefix and suffix.
// No server is needed: New does not connect.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: singleAddr})
	defer client.Close()
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   []redisstore.Option
		want   string // "" when New must succeed, else part of its error
	}{
		{"nil client", nil, nil, "nil client"},
		{"nil *redis.Client", (*redis.Client)(nil), nil, "nil client"},
		{"nil *redis.ClusterClient", (*redis.ClusterClient)(nil), nil, "nil client"},
		{"nil *redis.Ring", (*redis.Ring)(nil), nil, "nil client"},
		{"negative replicas", client, []redisstore.Option{redisstore.WithWaitReplicas(-1, time.Second)}, "negative number of replicas"},
		{"negative timeout", client, []redisstore.Option{redisstore.WithWaitReplicas(1, -time.Second)}, "negative timeout"},
		{"no options", client, nil, ""},
		{"nil option", client, []redisstore.Option{nil}, ""},
		{"zero replicas", client, []redisstore.Option{redisstore.WithWaitReplicas(0, 0)}, ""},
		{"any prefix and suffix", client, []redisstore.Option{redisstore.WithPrefix("{app} x\n"), redisstore.WithSuffix("\x00")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := redisstore.New(tt.client, tt.opts...)
			switch {
			case tt.want == "" && (err != nil || s == nil):
				t.Fatalf("New = %v, %v; want a store", s, err)
			case tt.want != "" && (!errors.Is(err, session.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) || s != nil):
				t.Fatalf("New = %v, %v; want an error matching session.ErrInvalidConfig about %q", s, err, tt.want)
			}
		})
	}
}

func TestKeyNames(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: singleAddr})
	defer c.Close()
	tests := []struct {
		name, prefix, suffix, key, index string
	}{
		{"bare", "", "", "session:KEY", "session:AUD:SUB"},
		{"prefix", "app", "", "app:session:KEY", "app:session:AUD:SUB"},
		{"suffix", "", "v1", "session:KEY:v1", "session:AUD:SUB:v1"},
		{"both", "app", "v1", "app:session:KEY:v1", "app:session:AUD:SUB:v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, c, redisstore.WithPrefix(tt.prefix), redisstore.WithSuffix(tt.suffix))
			if got := s.Key("session", "KEY"); got != tt.key {
				t.Errorf("Key = %q, want %q (the reference's [prefix:]name:key[:suffix])", got, tt.key)
			}
			if got := s.IndexKey("session", "AUD", "SUB"); got != tt.index {
				t.Errorf("IndexKey = %q, want %q (the reference's [prefix:]name:audience:subject[:suffix])", got, tt.index)
			}
		})
	}
}

// key is a storage key as core makes them: 43 base64url characters.
func key(t testing.TB) string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func TestStoreOnServers(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testStoreRules(t, m)
		})
	}
}

func testStoreRules(t *testing.T, m mode) {
	ctx := context.Background()
	now := time.Now()
	md := &store.Metadata{Audiences: []string{"YXBw"}, Subjects: []string{"YWxpY2U"}}

	t.Run("get missing is ErrNotFound", func(t *testing.T) {
		s, _ := newStore(t, m)
		_, err := s.Get(ctx, "session", key(t), store.GetOptions{Now: now})
		if !errors.Is(err, session.ErrNotFound) || !errors.Is(err, redis.Nil) {
			t.Fatalf("Get of a missing key: %v, want ErrNotFound wrapping redis.Nil", err)
		}
	})

	t.Run("set then get, with the TTL on the server", func(t *testing.T) {
		s, c := newStore(t, m, redisstore.WithSuffix("v1"))
		k := key(t)
		value := []byte(`["payload"]`)
		start := time.Now()
		if err := s.Set(ctx, "session", k, value, store.SetOptions{TTL: time.Minute, Now: now}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "session", k, store.GetOptions{Now: now})
		if err != nil || string(got) != string(value) {
			t.Fatalf("Get = %q, %v; want %q", got, err, value)
		}
		ttl := c.PTTL(ctx, s.Key("session", k)).Val()
		if elapsed := time.Since(start); ttl < time.Minute-elapsed-time.Millisecond || ttl > time.Minute {
			t.Fatalf("PTTL of %s = %v %v after the Set, want 1m less that", s.Key("session", k), ttl, elapsed)
		}
	})

	t.Run("old key shortened to stale ttl, never lengthened", func(t *testing.T) {
		s, c := newStore(t, m)
		tests := []struct {
			name   string
			oldTTL time.Duration
			want   time.Duration // the old record's PTTL after the save, at most
		}{
			{"long-lived old record is shortened", time.Hour, 10 * time.Second},
			{"short-lived old record keeps its expiry", 5 * time.Second, 5 * time.Second},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				old, k := key(t), key(t)
				start := time.Now()
				if err := s.Set(ctx, "session", old, []byte("old"), store.SetOptions{TTL: tt.oldTTL, Now: now}); err != nil {
					t.Fatal(err)
				}
				err := s.Set(ctx, "session", k, []byte("new"), store.SetOptions{
					TTL: time.Hour, Now: now, OldKey: old, StaleTTL: 10 * time.Second, Metadata: md,
				})
				if err != nil {
					t.Fatal(err)
				}
				ttl := c.PTTL(ctx, s.Key("session", old)).Val()
				// At most want, less no more than the time the test took.
				if min := tt.want - time.Since(start) - time.Millisecond; ttl > tt.want || ttl < min {
					t.Fatalf("old record PTTL = %v, want in [%v, %v]", ttl, min, tt.want)
				}
				if got, err := s.Get(ctx, "session", old, store.GetOptions{}); err != nil || string(got) != "old" {
					t.Fatalf("old record not readable within its stale ttl: %q, %v", got, err)
				}
			})
		}
	})

	t.Run("zero stale ttl removes the old record", func(t *testing.T) {
		s, _ := newStore(t, m)
		old, k := key(t), key(t)
		if err := s.Set(ctx, "session", old, []byte("old"), store.SetOptions{TTL: time.Hour, Now: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "session", k, []byte("new"), store.SetOptions{TTL: time.Hour, Now: now, OldKey: old}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "session", old, store.GetOptions{}); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("old record with stale ttl 0: %v, want ErrNotFound", err)
		}
	})

	t.Run("subject index", func(t *testing.T) {
		s, c := newStore(t, m)
		md := &store.Metadata{Audiences: []string{"YXBw", "b3RoZXI"}, Subjects: []string{"YWxpY2U", "YWxpY2U"}}
		a, b, b2 := key(t), key(t), key(t)
		set := func(k, old string, ttl time.Duration, at time.Time) {
			t.Helper()
			if err := s.Set(ctx, "session", k, []byte("v"), store.SetOptions{
				TTL: ttl, Now: at, OldKey: old, StaleTTL: 10 * time.Second, Metadata: md,
			}); err != nil {
				t.Fatal(err)
			}
		}
		set(a, "", time.Hour, now)
		set(b, "", 2*time.Hour, now)
		set(b2, b, 2*time.Hour, now.Add(time.Minute)) // b rotates to b2
		for _, aud := range md.Audiences {
			got, err := s.Sessions(ctx, "session", aud, "YWxpY2U", now.Add(2*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want := []store.IndexEntry{
				{Key: a, Expires: time.Unix(now.Unix()+3600, 0)},
				{Key: b2, Expires: time.Unix(now.Add(time.Minute).Unix()+7200, 0)},
			}
			if !equalEntries(got, want) {
				t.Fatalf("Sessions(%s) = %v, want %v (old key dropped, soonest first)", aud, got, want)
			}
			// The index lives as long as its longest entry.
			if ttl := c.PTTL(ctx, s.IndexKey("session", aud, "YWxpY2U")).Val(); ttl < 2*time.Hour-time.Minute {
				t.Fatalf("index PTTL = %v, want about 2h (its longest entry)", ttl)
			}
		}
		// A later, shorter session must not shorten the index's life.
		c2 := key(t)
		set(c2, "", time.Minute, now.Add(time.Minute))
		if ttl := c.PTTL(ctx, s.IndexKey("session", "YXBw", "YWxpY2U")).Val(); ttl < 2*time.Hour-time.Minute {
			t.Fatalf("index PTTL after a short session = %v, want about 2h", ttl)
		}
		// Listing after the first entry expired prunes it.
		later := now.Add(time.Minute + 90*time.Minute)
		got, err := s.Sessions(ctx, "session", "YXBw", "YWxpY2U", later)
		if err != nil || len(got) != 1 || got[0].Key != b2 {
			t.Fatalf("Sessions after expiry = %v, %v; want only %s", got, err, b2)
		}
		if n := c.ZCard(ctx, s.IndexKey("session", "YXBw", "YWxpY2U")).Val(); n != 1 {
			t.Fatalf("index holds %d entries after a listing pruned it, want 1", n)
		}
		// Delete with metadata removes the record and the index entry.
		if err := s.Delete(ctx, "session", b2, store.DeleteOptions{Now: now, Metadata: md}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "session", b2, store.GetOptions{}); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
		}
		for _, aud := range md.Audiences {
			got, err := s.Sessions(ctx, "session", aud, "YWxpY2U", now)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range got {
				if e.Key == b2 {
					t.Fatalf("deleted key %s still in the index of %s", b2, aud)
				}
			}
		}
		// Other cookie names have their own index.
		if got, _ := s.Sessions(ctx, "remember", "YXBw", "YWxpY2U", now); len(got) != 0 {
			t.Fatalf("Sessions(remember) = %v, want none", got)
		}
	})

	t.Run("delete missing is not an error", func(t *testing.T) {
		s, _ := newStore(t, m)
		for _, opts := range []store.DeleteOptions{{}, {Now: now, Metadata: md}} {
			if err := s.Delete(ctx, "session", key(t), opts); err != nil {
				t.Fatalf("Delete of a missing key: %v", err)
			}
		}
	})

	t.Run("bad input is an error", func(t *testing.T) {
		s, _ := newStore(t, m)
		tests := []struct {
			name string
			opts store.SetOptions
		}{
			{"zero ttl", store.SetOptions{}},
			{"negative ttl", store.SetOptions{TTL: -time.Second}},
			{"metadata mismatch", store.SetOptions{TTL: time.Second, Metadata: &store.Metadata{Audiences: []string{"a", "b"}, Subjects: []string{"c"}}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := s.Set(ctx, "session", key(t), []byte("v"), tt.opts); !errors.Is(err, session.ErrStore) {
					t.Fatalf("Set: %v, want ErrStore", err)
				}
			})
		}
	})

	t.Run("cancelled context changes nothing", func(t *testing.T) {
		s, _ := newStore(t, m)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		k := key(t)
		if err := s.Set(cctx, "session", k, []byte("v"), store.SetOptions{TTL: time.Minute, Metadata: md}); !errors.Is(err, session.ErrStore) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Set with a cancelled context: %v, want ErrStore and context.Canceled", err)
		}
		if _, err := s.Get(ctx, "session", k, store.GetOptions{}); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("record written despite the cancelled context: %v", err)
		}
		if _, err := s.Get(cctx, "session", k, store.GetOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a cancelled context: %v", err)
		}
	})

	t.Run("round trips", func(t *testing.T) {
		// A round is one exchange of latency: a call, or a pipeline that a
		// cluster client sends to its nodes in parallel.
		s, c := newStore(t, m)
		if err := redisstore.LoadScript(ctx, c); err != nil {
			t.Fatal(err)
		}
		rounds := countRounds(c)
		cluster := m.name == "cluster"
		set := func(k string, opts store.SetOptions) {
			t.Helper()
			opts.TTL, opts.Now, opts.StaleTTL, opts.Metadata = time.Minute, now, 10*time.Second, md
			if err := s.Set(ctx, "session", k, []byte("v"), opts); err != nil {
				t.Fatal(err)
			}
		}
		first, next, remember := key(t), key(t), key(t)
		tests := []struct {
			name              string
			op                func()
			single, inCluster int64
		}{
			{"save of a new session", func() { set(first, store.SetOptions{}) }, 1, 1},
			{"save with old key", func() { set(next, store.SetOptions{OldKey: first}) }, 1, 3},
			{"save with partner", func() {
				set(remember, store.SetOptions{Partner: store.RecordKey{Name: "session", Key: next}})
			}, 1, 3},
			{"replace", func() { set(next, store.SetOptions{Replace: true}) }, 1, 1},
			{"delete of a group", func() {
				if err := s.Delete(ctx, "session", next, store.DeleteOptions{Now: now, Metadata: md}); err != nil {
					t.Fatal(err)
				}
			}, 1, 4},
		}
		for _, tt := range tests {
			rounds.n.Store(0)
			tt.op()
			want := tt.single
			if cluster {
				want = tt.inCluster
			}
			if n := rounds.n.Load(); n != want {
				t.Errorf("%s took %d rounds, want %d", tt.name, n, want)
			}
		}
	})

	t.Run("concurrent saves keep every index entry", func(t *testing.T) {
		s, _ := newStore(t, m)
		var wg sync.WaitGroup
		keys := make([]string, 20)
		errs := make(chan error, len(keys))
		for i := range keys {
			keys[i] = key(t)
			wg.Add(1)
			go func(k string) {
				defer wg.Done()
				errs <- s.Set(ctx, "session", k, []byte("v"), store.SetOptions{TTL: time.Minute, Now: now, Metadata: md})
			}(keys[i])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Sessions(ctx, "session", md.Audiences[0], md.Subjects[0], now)
		if err != nil || len(got) != len(keys) {
			t.Fatalf("Sessions after %d concurrent saves: %d entries, %v", len(keys), len(got), err)
		}
	})
}

func equalEntries(a, b []store.IndexEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !a[i].Expires.Equal(b[i].Expires) {
			return false
		}
	}
	return true
}
