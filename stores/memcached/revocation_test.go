package memcachedstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
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
	tests := []struct{ name, prefix, suffix, want string }{
		{"bare", "", "", "revoked:sid:HASH"},
		{"prefix", "app", "", "app:revoked:sid:HASH"},
		{"suffix", "", "v1", "revoked:sid:HASH:v1"},
		{"both", "app", "v1", "app:revoked:sid:HASH:v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, memcache.New(), memcachedstore.WithPrefix(tt.prefix), memcachedstore.WithSuffix(tt.suffix))
			if got := s.RevokedKey("sid:HASH"); got != tt.want {
				t.Errorf("RevokedKey = %q, want %q ([prefix:]revoked:key[:suffix])", got, tt.want)
			}
		})
	}
}

func TestRevoker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	n := now.Unix()
	base := time.Unix(n, 0)
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

	// A mark as a test writes it: key index, At in seconds from base, TTL.
	type mark struct {
		key int
		at  int
		ttl time.Duration
	}
	// A Revoke call at now plus shift.
	type revoke struct {
		shift time.Duration
		marks []mark
	}
	const none = -1 << 30 // no live mark
	tests := []struct {
		name    string
		revokes []revoke
		shift   time.Duration // of the lookup's now
		lookup  []int         // the keys Revoked is asked for
		want    []int         // At of each answer in seconds from base, or none
		exp     map[int]int64 // key -> expiry in its flags, in seconds from n
	}{
		{
			name:   "missing keys",
			lookup: []int{0, 1},
			want:   []int{none, none},
		},
		{
			name:    "answers in the order of the keys",
			revokes: []revoke{{0, []mark{{0, -3, time.Hour}, {1, -2, time.Hour}}}, {0, []mark{{2, -1, time.Hour}}}},
			lookup:  []int{2, 3, 0, 1, 0},
			want:    []int{-1, none, -3, -2, -3},
		},
		{
			name: "later At wins",
			revokes: []revoke{
				{0, []mark{{0, 0, time.Hour}, {1, -60, time.Hour}}},
				{0, []mark{{0, -60, time.Hour}, {1, 0, time.Hour}}},
				{0, []mark{{2, 0, time.Hour}, {2, -5, time.Hour}}}, // twice in one call
				{0, []mark{{3, -5, time.Hour}, {3, 0, time.Hour}}},
			},
			lookup: []int{0, 1, 2, 3},
			want:   []int{0, 0, 0, 0},
		},
		{
			name: "expiry extended, never shortened",
			revokes: []revoke{
				{0, []mark{{0, 0, time.Hour}, {1, 0, 10 * time.Second}, {2, -5, time.Hour}}},
				{0, []mark{{0, 0, 10 * time.Second}, {1, 0, time.Hour}, {2, 0, 10 * time.Second}}},
			},
			lookup: []int{0, 1, 2},
			want:   []int{0, 0, 0}, // 2: the later At, with the earlier mark's longer expiry
			exp:    map[int]int64{0: 3600, 1: 3600, 2: 3600},
		},
		{
			name:    "a TTL under a second is kept a second",
			revokes: []revoke{{0, []mark{{0, 0, 10 * time.Millisecond}, {1, 0, 0}, {2, 0, -time.Hour}, {3, 0, 1500 * time.Millisecond}}}},
			lookup:  []int{0, 1, 2, 3},
			want:    []int{0, 0, 0, 0},
			exp:     map[int]int64{0: 1, 1: 1, 2: 1, 3: 2},
		},
		{
			name:    "a mark past its expiry by now is not live",
			revokes: []revoke{{0, []mark{{0, 0, time.Hour}, {1, 0, 2 * time.Hour}}}},
			shift:   time.Hour,
			lookup:  []int{0, 1},
			want:    []int{none, 0},
		},
		{
			name: "a mark past its expiry by now is replaced, not merged",
			revokes: []revoke{
				{0, []mark{{0, 100, time.Hour}}},
				{time.Hour, []mark{{0, 50, 30 * time.Minute}}},
			},
			shift:  time.Hour,
			lookup: []int{0},
			want:   []int{50},
			exp:    map[int]int64{0: 5400},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := newStore(t)
			keys := make([]string, 8)
			for i := range keys {
				keys[i] = markKey([]string{"sid", "sub", "key"}[i%3])
			}
			for _, call := range tt.revokes {
				marks := make([]store.Mark, len(call.marks))
				for i, mk := range call.marks {
					marks[i] = store.Mark{Key: keys[mk.key], At: at(mk.at), TTL: mk.ttl}
				}
				if err := s.Revoke(ctx, marks, now.Add(call.shift)); err != nil {
					t.Fatalf("Revoke(%v): %v", call, err)
				}
			}
			lookup := make([]string, len(tt.lookup))
			for i, k := range tt.lookup {
				lookup[i] = keys[k]
			}
			got, err := s.Revoked(ctx, lookup, now.Add(tt.shift))
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
			for k, exp := range tt.exp {
				it, err := c.Get(s.RevokedKey(keys[k]))
				if err != nil {
					t.Fatalf("mark %d: %v", k, err)
				}
				if int64(it.Flags) != n+exp {
					t.Errorf("expiry of mark %d in its flags = now%+d, want now%+d", k, int64(it.Flags)-n, exp)
				}
			}
		})
	}

	t.Run("layout: decimal unix seconds, expiry in the flags", func(t *testing.T) {
		t.Parallel()
		s, c := newStore(t, memcachedstore.WithSuffix("v1"))
		k := markKey("sub")
		if err := s.Revoke(ctx, []store.Mark{{Key: k, At: base.Add(900 * time.Millisecond), TTL: time.Minute}}, now); err != nil {
			t.Fatal(err)
		}
		it, err := c.Get(s.RevokedKey(k))
		if err != nil || string(it.Value) != strconv.FormatInt(n, 10) || int64(it.Flags) != n+60 {
			t.Fatalf("item %s = %+v, %v; want value %d (At in whole unix seconds), flags %d (the expiry)", s.RevokedKey(k), it, err, n, n+60)
		}
	})

	t.Run("marks expire on the server, never before their TTL", func(t *testing.T) {
		t.Parallel()
		s, c := newStore(t)
		short, long := markKey("sid"), markKey("sid")
		err := s.Revoke(ctx, []store.Mark{{Key: short, At: base, TTL: time.Second}, {Key: long, At: base, TTL: time.Hour}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		written := time.Now()
		for deadline := written.Add(expiryWait); ; time.Sleep(50 * time.Millisecond) {
			_, err := c.Get(s.RevokedKey(short))
			if errors.Is(err, memcache.ErrCacheMiss) {
				if d := time.Since(written); d < time.Second {
					t.Fatalf("the mark with a TTL of a second was gone from memcached %v after it was written", d)
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the mark with a TTL of a second is still there after %v", expiryWait)
			}
		}
		got, err := s.Revoked(ctx, []string{short, long}, time.Now())
		if err != nil || !got[0].IsZero() || !got[1].Equal(base) {
			t.Fatalf("Revoked = %v, %v; want [zero, %v]", got, err, base)
		}
	})

	t.Run("many keys in one call", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		const count = 1000
		marks := make([]store.Mark, count)
		lookup := make([]string, 0, count+count/10)
		for i := range marks {
			marks[i] = store.Mark{Key: markKey("key"), At: at(-i), TTL: time.Minute}
			lookup = append(lookup, marks[i].Key)
			if i%10 == 0 {
				lookup = append(lookup, markKey("key")) // never revoked
			}
		}
		if err := s.Revoke(ctx, marks, now); err != nil {
			t.Fatal(err)
		}
		got, err := s.Revoked(ctx, lookup, now)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for j, k := range lookup {
			if i < count && k == marks[i].Key {
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
		t.Parallel()
		s, c := newStore(t)
		k := markKey("sub")
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Revoke(ctx, []store.Mark{{Key: k, At: at(i), TTL: time.Duration(i+1) * time.Minute}}, now)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Revoked(ctx, []string{k}, now)
		if err != nil || !got[0].Equal(at(19)) {
			t.Fatalf("Revoked = %v, %v; want %v", got, err, at(19))
		}
		if it, err := c.Get(s.RevokedKey(k)); err != nil || int64(it.Flags) != n+20*60 {
			t.Fatalf("mark item %+v, %v; want the longest expiry, now+20m, in its flags", it, err)
		}
	})

	t.Run("round trips", func(t *testing.T) {
		t.Parallel()
		writes := &roundTrips{}
		c := memcache.New(memcachedAddrs[0])
		c.Timeout = testTimeout
		c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: nc, rt: writes, lastRead: true}, nil
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Ping(); err != nil {
			unavailable(t, "memcached %s unreachable: %v", memcachedAddrs[0], err)
		}
		s := mustNew(t, c, memcachedstore.WithPrefix(testPrefix()))
		keys := []string{markKey("sid"), markKey("sub"), markKey("key")}
		tests := []struct {
			name string
			op   func() error
			want int64
		}{
			{"revoke of two new marks: one read, two adds", func() error {
				return s.Revoke(ctx, []store.Mark{{Key: keys[0], At: base, TTL: time.Minute}, {Key: keys[1], At: base, TTL: time.Minute}}, now)
			}, 3},
			{"lookup of three keys", func() error { _, err := s.Revoked(ctx, keys, now); return err }, 1},
			{"lookup of no keys", func() error { _, err := s.Revoked(ctx, nil, now); return err }, 0},
		}
		for _, tt := range tests {
			writes.n.Store(0)
			if err := tt.op(); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := writes.n.Load(); got != tt.want {
				t.Errorf("%s took %d round trips, want %d", tt.name, got, tt.want)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		s, c := newStore(t)
		corrupt := markKey("sid")
		if err := c.Set(&memcache.Item{Key: s.RevokedKey(corrupt), Value: []byte("not a time"), Expiration: 60}); err != nil {
			t.Fatal(err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		good := []store.Mark{{Key: markKey("sid"), At: base, TTL: time.Minute}}
		tests := []struct {
			name  string
			err   func() error
			cause error
		}{
			{"lookup of a mark that is not a number", func() error { _, err := s.Revoked(ctx, []string{markKey("sid"), corrupt}, now); return err }, nil},
			{"lookup of a key with a space", func() error { _, err := s.Revoked(ctx, []string{"sid:a b"}, now); return err }, nil},
			{"revoke of a key with a space", func() error { return s.Revoke(ctx, []store.Mark{{Key: "sid:a b", At: base, TTL: time.Minute}}, now) }, nil},
			{"lookup with a cancelled context", func() error { _, err := s.Revoked(cancelled, []string{markKey("sid")}, now); return err }, context.Canceled},
			{"revoke with a cancelled context", func() error { return s.Revoke(cancelled, good, now) }, context.Canceled},
		}
		for _, tt := range tests {
			err := tt.err()
			if !errors.Is(err, session.ErrStore) || (tt.cause != nil && !errors.Is(err, tt.cause)) {
				t.Errorf("%s: %v, want ErrStore (and %v)", tt.name, err, tt.cause)
			}
		}
		if got, err := s.Revoked(ctx, []string{good[0].Key}, now); err != nil || !got[0].IsZero() {
			t.Fatalf("mark written despite the cancelled context: %v, %v", got, err)
		}
		// A new mark replaces one that is not a number.
		if err := s.Revoke(ctx, []store.Mark{{Key: corrupt, At: base, TTL: time.Minute}}, now); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Revoked(ctx, []string{corrupt}, now); err != nil || !got[0].Equal(base) {
			t.Fatalf("Revoked after a new mark = %v, %v; want %v", got, err, base)
		}
	})
}

// TestRevokerUnreachable: with no server, both calls fail with an error
// matching ErrStore, which the session library reads as "unknown".
func TestRevokerUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := mustNew(t, memcache.New(addr))
	ctx := context.Background()
	if err := s.Revoke(ctx, []store.Mark{{Key: markKey("sid"), At: time.Now(), TTL: time.Minute}}, time.Now()); !errors.Is(err, session.ErrStore) {
		t.Errorf("Revoke with no server: %v, want ErrStore", err)
	}
	if got, err := s.Revoked(ctx, []string{markKey("sid")}, time.Now()); !errors.Is(err, session.ErrStore) || got != nil {
		t.Errorf("Revoked with no server: %v, %v; want no answers and ErrStore", got, err)
	}
}
