package memcachedstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

// The servers the tests use; scripts/services.sh starts them, and
// .ci/services.env sets this variable.
var memcachedAddrs = strings.Split(env("SESSIONGO_MEMCACHED_ADDRS", "127.0.0.1:11311"), ",")

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// unavailable skips the test, or fails it when SESSIONGO_REQUIRE_SERVICES=1.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("SESSIONGO_REQUIRE_SERVICES") == "1" {
		t.Fatalf(format+" (SESSIONGO_REQUIRE_SERVICES=1; start the servers with scripts/services.sh start)", args...)
	}
	t.Skipf(format+" (start the servers with scripts/services.sh start)", args...)
}

// testTimeout bounds each call of the tests' clients: gomemcache's default
// 500 ms is too short on a loaded shared machine, where a 16 MiB write of
// the conformance suite would fail with an i/o timeout that says nothing
// about the store. It only ever delays the failure of a hung server.
const testTimeout = 30 * time.Second

// Timings of the tests that let records expire on the server. memcached
// counts expiry in whole seconds on a clock it ticks once a second, so a
// record with a TTL of n seconds ends between n-1 and n seconds after its
// Set, later when the tick is late on a busy machine: a record the test
// must still read has a TTL of readableTTL (two seconds at least to read it
// back), and waitGone polls for expiryWait, far past any TTL it waits for.
const (
	readableTTL = 3 * time.Second
	expiryWait  = 20 * time.Second
)

// connect returns a client of the test memcached, checked with a ping.
func connect(t testing.TB) *memcache.Client {
	t.Helper()
	c := memcache.New(memcachedAddrs...)
	c.MaxIdleConns = 16
	c.Timeout = testTimeout
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(); err != nil {
		unavailable(t, "memcached %v unreachable: %v", memcachedAddrs, err)
	}
	return c
}

// testPrefix returns a key prefix of its own for one test. memcached
// cannot list keys, so the test's keys simply expire.
func testPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "sessiongo-test-" + hex.EncodeToString(b[:])
}

// newStore returns a store with a prefix of its own.
func newStore(t testing.TB, opts ...memcachedstore.Option) (*memcachedstore.Store, *memcache.Client) {
	t.Helper()
	c := connect(t)
	opts = append([]memcachedstore.Option{memcachedstore.WithPrefix(testPrefix())}, opts...)
	return mustNew(t, c, opts...), c
}

// mustNew returns memcachedstore.New(c, opts...), failing the test on an
// error.
func mustNew(t testing.TB, c *memcache.Client, opts ...memcachedstore.Option) *memcachedstore.Store {
	t.Helper()
	s, err := memcachedstore.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// key is a storage key as core makes them: 43 base64url characters.
func key(t testing.TB) string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// TestNewErrors checks that New refuses a nil client and a prefix or
// suffix that would make keys memcached refuses, with an error matching
// session.ErrInvalidConfig. No server is needed: New does not connect.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	// The longest prefix that leaves room for the group pointer of a record
	// under a one-character cookie name: "P:x:<43 bytes>:@group" is 250 bytes.
	longest := strings.Repeat("p", 250-len(":x::@group")-43)
	tests := []struct {
		name   string
		client *memcache.Client
		opts   []memcachedstore.Option
		want   string // "" when New must succeed, else part of its error
	}{
		{"nil client", nil, nil, "nil client"},
		{"no options", memcache.New(), nil, ""},
		{"nil option", memcache.New(), []memcachedstore.Option{nil}, ""},
		{"separators in the prefix", memcache.New(), []memcachedstore.Option{memcachedstore.WithPrefix("app:v1/@;")}, ""},
		{"longest prefix", memcache.New(), []memcachedstore.Option{memcachedstore.WithPrefix(longest)}, ""},
		{"space in the prefix", memcache.New(), []memcachedstore.Option{memcachedstore.WithPrefix("my app")}, "WithPrefix"},
		{"newline in the suffix", memcache.New(), []memcachedstore.Option{memcachedstore.WithSuffix("v1\n")}, "WithSuffix"},
		{"DEL in the suffix", memcache.New(), []memcachedstore.Option{memcachedstore.WithSuffix("v\x7f")}, "WithSuffix"},
		{"prefix too long", memcache.New(), []memcachedstore.Option{memcachedstore.WithPrefix(longest + "p")}, "no room"},
		{"prefix and suffix too long", memcache.New(), []memcachedstore.Option{
			memcachedstore.WithPrefix(longest[:100]), memcachedstore.WithSuffix(longest[100:])}, "no room"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := memcachedstore.New(tt.client, tt.opts...)
			switch {
			case tt.want == "" && (err != nil || s == nil):
				t.Fatalf("New = %v, %v; want a store", s, err)
			case tt.want != "" && (!errors.Is(err, session.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) || s != nil):
				t.Fatalf("New = %v, %v; want an error matching session.ErrInvalidConfig about %q", s, err, tt.want)
			}
		})
	}
}

// TestKeyNames checks the names of records and index lists: the
// reference's, escaped as lua-resty-memcached escapes keys (the last rows
// are names the reference wrote in the store vectors).
func TestKeyNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, prefix, suffix, key, index string
	}{
		{"bare", "", "", "session%3AKEY", "session%3AAUD%3ASUB"},
		{"prefix", "app", "", "app%3Asession%3AKEY", "app%3Asession%3AAUD%3ASUB"},
		{"suffix", "", "v1", "session%3AKEY%3Av1", "session%3AAUD%3ASUB%3Av1"},
		{"both", "app", "v1", "app%3Asession%3AKEY%3Av1", "app%3Asession%3AAUD%3ASUB%3Av1"},
		{"escaped prefix", "my-app:v1/@", "", "my-app%3Av1%2F%40%3Asession%3AKEY", "my-app%3Av1%2F%40%3Asession%3AAUD%3ASUB"},
		{"unescaped punctuation", "a-b.c_d~e!f'g(h)i*j", "", "a-b.c_d~e!f'g(h)i*j%3Asession%3AKEY", "a-b.c_d~e!f'g(h)i*j%3Asession%3AAUD%3ASUB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, memcache.New(), memcachedstore.WithPrefix(tt.prefix), memcachedstore.WithSuffix(tt.suffix))
			if got := s.Key("session", "KEY"); got != tt.key {
				t.Errorf("Key = %q, want %q (the reference's [prefix:]name:key[:suffix], escaped)", got, tt.key)
			}
			if got := s.IndexKey("session", "AUD", "SUB"); got != tt.index {
				t.Errorf("IndexKey = %q, want %q (the reference's [prefix:]name:audience:subject[:suffix], escaped)", got, tt.index)
			}
		})
	}
	s := mustNew(t, memcache.New(), memcachedstore.WithPrefix("storeref"))
	for _, tt := range []struct{ got, want string }{
		{s.Key("sr_memc_login", "zNqLg0GygW7PLpTGsgWR97GWucWpAXGQTVN2CISqDjs"), "storeref%3Asr_memc_login%3AzNqLg0GygW7PLpTGsgWR97GWucWpAXGQTVN2CISqDjs"},
		{s.IndexKey("sr_memc_login", "YXBwLWE", "YWxpY2VAZXhhbXBsZS5jb20"), "storeref%3Asr_memc_login%3AYXBwLWE%3AYWxpY2VAZXhhbXBsZS5jb20"},
		{s.IndexKey("sr_memc_aud", "YXBwLWI", "alice@example.com"), "storeref%3Asr_memc_aud%3AYXBwLWI%3Aalice%40example.com"},
	} {
		if tt.got != tt.want {
			t.Errorf("key %q, want the reference's %q", tt.got, tt.want)
		}
	}
}

func TestStoreOnServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	md := &store.Metadata{Audiences: []string{"YXBw"}, Subjects: []string{"YWxpY2U"}}

	t.Run("get missing is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		_, err := s.Get(ctx, "session", key(t), store.GetOptions{Now: now})
		if !errors.Is(err, session.ErrNotFound) || !errors.Is(err, memcache.ErrCacheMiss) {
			t.Fatalf("Get of a missing key: %v, want ErrNotFound wrapping memcache.ErrCacheMiss", err)
		}
	})

	t.Run("set then get under the reference's key name", func(t *testing.T) {
		t.Parallel()
		s, c := newStore(t, memcachedstore.WithSuffix("v1"))
		k := key(t)
		value := []byte(`["payload"]`)
		if err := s.Set(ctx, "session", k, value, store.SetOptions{TTL: time.Minute, Now: now}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "session", k, store.GetOptions{Now: now})
		if err != nil || string(got) != string(value) {
			t.Fatalf("Get = %q, %v; want %q", got, err, value)
		}
		it, err := c.Get(s.Key("session", k))
		if err != nil || string(it.Value) != string(value) || it.Flags != 0 {
			t.Fatalf("raw get of %s = %v, %v; want the value with flags 0, as the reference writes it", s.Key("session", k), it, err)
		}
		// The record's expiry is in its (empty) group pointer, which a
		// Delete removes with it.
		pk := memcachedstore.PointerKey(s, "session", k)
		p, err := c.Get(pk)
		if err != nil || len(p.Value) != 0 || int64(p.Flags) != now.Unix()+60 {
			t.Fatalf("group pointer %s = %v, %v; want empty, with the expiry %d in its flags", pk, p, err, now.Unix()+60)
		}
		if err := s.Delete(ctx, "session", k, store.DeleteOptions{Now: now}); err != nil {
			t.Fatal(err)
		}
		for _, gone := range []string{s.Key("session", k), pk} {
			if _, err := c.Get(gone); !errors.Is(err, memcache.ErrCacheMiss) {
				t.Fatalf("%s after Delete: %v, want it gone", gone, err)
			}
		}
	})

	t.Run("TTLs above 30 days are kept, not expired at once", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		for _, ttl := range []time.Duration{30 * 24 * time.Hour, 31 * 24 * time.Hour, 400 * 24 * time.Hour} {
			k := key(t)
			if err := s.Set(ctx, "remember", k, []byte("v"), store.SetOptions{TTL: ttl, Now: now, Metadata: md}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "remember", k, store.GetOptions{}); err != nil {
				t.Fatalf("record with ttl %v: %v (a relative expiration above 30 days would be read as a past unix time)", ttl, err)
			}
			entries, err := s.Sessions(ctx, "remember", md.Audiences[0], md.Subjects[0], now)
			if err != nil || !hasKey(entries, k) {
				t.Fatalf("index with ttl %v: %v, %v", ttl, entries, err)
			}
		}
	})

	t.Run("record expires on the server", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		k := key(t)
		if err := s.Set(ctx, "session", k, []byte("v"), store.SetOptions{TTL: time.Second, Now: now}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, s, k)
	})

	t.Run("old key shortened to stale ttl, never lengthened", func(t *testing.T) {
		t.Parallel()
		now := time.Now() // the flags' expiries follow the server's
		s, _ := newStore(t)
		longOld, shortOld, k1, k2 := key(t), key(t), key(t), key(t)
		for _, r := range []struct {
			k   string
			ttl time.Duration
		}{{longOld, time.Hour}, {shortOld, readableTTL}} {
			if err := s.Set(ctx, "session", r.k, []byte("old"), store.SetOptions{TTL: r.ttl, Now: now}); err != nil {
				t.Fatal(err)
			}
		}
		// longOld gets a stale ttl of readableTTL; shortOld must keep its
		// readableTTL even with a stale ttl of an hour.
		if err := s.Set(ctx, "session", k1, []byte("new"), store.SetOptions{TTL: time.Hour, Now: now, OldKey: longOld, StaleTTL: readableTTL, Metadata: md}); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "session", k2, []byte("new"), store.SetOptions{TTL: time.Hour, Now: now, OldKey: shortOld, StaleTTL: time.Hour, Metadata: md}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "session", longOld, store.GetOptions{}); err != nil || string(got) != "old" {
			t.Fatalf("old record not readable within its stale ttl: %q, %v", got, err)
		}
		waitGone(t, s, longOld)
		waitGone(t, s, shortOld)
	})

	t.Run("subject index", func(t *testing.T) {
		t.Parallel()
		s, c := newStore(t)
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
		set(b2, b, 2*time.Hour, now.Add(time.Minute))
		want := []store.IndexEntry{
			{Key: a, Expires: time.Unix(now.Unix()+3600, 0)},
			{Key: b2, Expires: time.Unix(now.Add(time.Minute).Unix()+7200, 0)},
		}
		for _, aud := range md.Audiences {
			got, err := s.Sessions(ctx, "session", aud, "YWxpY2U", now.Add(2*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if !equalEntries(got, want) {
				t.Fatalf("Sessions(%s) = %v, want %v (old key dropped, soonest first)", aud, got, want)
			}
		}
		// The list was compacted: only the two live entries are left, in
		// the reference's format.
		it, err := c.Get(s.IndexKey("session", "YXBw", "YWxpY2U"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(it.Value), ";"); n != 2 || len(it.Value) != 2*52 {
			t.Fatalf("index list %q: want two 52-byte entries after compaction", it.Value)
		}
		// Listing after the first entry expired leaves only b2.
		got, err := s.Sessions(ctx, "session", "YXBw", "YWxpY2U", now.Add(91*time.Minute))
		if err != nil || len(got) != 1 || got[0].Key != b2 {
			t.Fatalf("Sessions after expiry = %v, %v; want only %s", got, err, b2)
		}
		if err := s.Delete(ctx, "session", b2, store.DeleteOptions{Now: now, Metadata: md}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "session", b2, store.GetOptions{}); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
		}
		for _, aud := range md.Audiences {
			got, err := s.Sessions(ctx, "session", aud, "YWxpY2U", now)
			if err != nil || hasKey(got, b2) {
				t.Fatalf("deleted key still in the index of %s: %v, %v", aud, got, err)
			}
		}
		if got, _ := s.Sessions(ctx, "remember", "YXBw", "YWxpY2U", now); len(got) != 0 {
			t.Fatalf("Sessions(remember) = %v, want none", got)
		}
	})

	t.Run("reads lists the reference wrote", func(t *testing.T) {
		t.Parallel()
		s, c := newStore(t)
		// Entries as lua-resty-session's meta_get_value writes them: k1
		// expires at 1700000000, k2 at 4102444800, k1 and k3 then tombstoned.
		k1, k2, k3 := key(t), key(t), key(t)
		list := k1 + ":APFTZQA;" + k2 + ":AFeG9AA;" + k3 + ":AFeG9AA;" + k3 + ";"
		if err := c.Set(&memcache.Item{Key: s.IndexKey("session", "YXBw", "YWxpY2U"), Value: []byte(list), Expiration: 60}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Sessions(ctx, "session", "YXBw", "YWxpY2U", time.Unix(1600000000, 0))
		want := []store.IndexEntry{{Key: k1, Expires: time.Unix(1700000000, 0)}, {Key: k2, Expires: time.Unix(4102444800, 0)}}
		if err != nil || !equalEntries(got, want) {
			t.Fatalf("Sessions = %v, %v; want %v", got, err, want)
		}
	})

	t.Run("corrupt list is an error, not a panic", func(t *testing.T) {
		t.Parallel()
		s, c := newStore(t)
		for i, list := range []string{"no-terminator", "k:short;", "k:!!!!!!!;"} {
			ik := s.IndexKey("session", "YXBw", "c"+string(rune('a'+i)))
			if err := c.Set(&memcache.Item{Key: ik, Value: []byte(list), Expiration: 60}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Sessions(ctx, "session", "YXBw", "c"+string(rune('a'+i)), now); !errors.Is(err, session.ErrStore) {
				t.Fatalf("Sessions of %q: %v, want ErrStore", list, err)
			}
		}
	})

	t.Run("concurrent saves never lose an index entry", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		const n = 40
		keys := make([]string, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
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
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if !hasKey(got, k) {
				t.Fatalf("index lost %s after %d concurrent saves (has %d entries)", k, n, len(got))
			}
		}
	})

	t.Run("bad input is an error", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		tests := []struct {
			name string
			key  string
			opts store.SetOptions
		}{
			{"zero ttl", key(t), store.SetOptions{}},
			{"negative ttl", key(t), store.SetOptions{TTL: -time.Second}},
			{"metadata mismatch", key(t), store.SetOptions{TTL: time.Second, Metadata: &store.Metadata{Audiences: []string{"a", "b"}, Subjects: []string{"c"}}}},
			{"key that breaks the list", "a;b", store.SetOptions{TTL: time.Second, Metadata: md}},
			{"key memcached refuses", "a b", store.SetOptions{TTL: time.Second}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := s.Set(ctx, "session", tt.key, []byte("v"), tt.opts); !errors.Is(err, session.ErrStore) {
					t.Fatalf("Set: %v, want ErrStore", err)
				}
			})
		}
	})

	t.Run("cancelled context changes nothing", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		k := key(t)
		if err := s.Set(cctx, "session", k, []byte("v"), store.SetOptions{TTL: time.Minute, Metadata: md}); !errors.Is(err, session.ErrStore) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Set with a cancelled context: %v, want ErrStore and context.Canceled", err)
		}
		if _, err := s.Get(ctx, "session", k, store.GetOptions{}); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("record written despite the cancelled context: %v", err)
		}
	})
}

// waitGone waits, at most expiryWait, for the record k to expire.
func waitGone(t *testing.T, s *memcachedstore.Store, k string) {
	t.Helper()
	deadline := time.Now().Add(expiryWait)
	for {
		_, err := s.Get(context.Background(), "session", k, store.GetOptions{})
		if errors.Is(err, session.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s still there after %v: %v", k, expiryWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasKey(entries []store.IndexEntry, k string) bool {
	for _, e := range entries {
		if e.Key == k {
			return true
		}
	}
	return false
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
