package memcachedstore_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

// Benchmarks against the real server, each reporting rt/op: the
// request/response exchanges with memcached per operation, counted on the
// connections. BenchmarkBaseline is a plain get and set.
//
//	go test -run '^$' -bench . -benchtime 2000x

// roundTrips counts the writes that follow a read (or start a
// connection): one per request sent.
type roundTrips struct{ n atomic.Int64 }

type countingConn struct {
	net.Conn
	rt       *roundTrips
	mu       sync.Mutex
	lastRead bool
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.lastRead {
		c.rt.n.Add(1)
		c.lastRead = false
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.lastRead = true
	c.mu.Unlock()
	return c.Conn.Read(p)
}

func benchStore(b *testing.B) (*memcachedstore.Store, *memcache.Client, *roundTrips) {
	b.Helper()
	connect(b) // skips when the server is down
	rt := &roundTrips{}
	c := memcache.New(memcachedAddrs...)
	c.Timeout = testTimeout
	c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: nc, rt: rt, lastRead: true}, nil
	}
	b.Cleanup(func() { c.Close() })
	s, _ := newStore(b)
	s = mustNew(b, c, memcachedstore.WithPrefix(s.Key("bench", "x")))
	b.ReportAllocs()
	return s, c, rt
}

func report(b *testing.B, rt *roundTrips) {
	b.ReportMetric(float64(rt.n.Load())/float64(b.N), "rt/op")
}

// benchLogin returns an app on s and the cookie of a saved session.
func benchLogin(b *testing.B, s session.Store) (*app, context.Context, *http.Cookie) {
	a, ctx := newApp(b, s), context.Background()
	cookie, err := a.login(ctx, "alice")
	if err != nil {
		b.Fatalf("login: %v", err)
	}
	return a, ctx, cookie
}

var benchMD = &store.Metadata{Audiences: []string{"ZGVmYXVsdA"}, Subjects: []string{"YWxpY2U"}}

func BenchmarkBaseline(b *testing.B) {
	value := make([]byte, 200)
	b.Run("get", func(b *testing.B) {
		s, c, rt := benchStore(b)
		k := s.Key("session", key(b))
		c.Set(&memcache.Item{Key: k, Value: value, Expiration: 60})
		rt.n.Store(0)
		b.ResetTimer()
		for b.Loop() {
			if _, err := c.Get(k); err != nil {
				b.Fatal(err)
			}
		}
		report(b, rt)
	})
	b.Run("set", func(b *testing.B) {
		s, c, rt := benchStore(b)
		k := s.Key("session", key(b))
		rt.n.Store(0)
		b.ResetTimer()
		for b.Loop() {
			if err := c.Set(&memcache.Item{Key: k, Value: value, Expiration: 60}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, rt)
	})
}

func BenchmarkStoreGet(b *testing.B) {
	s, _, rt := benchStore(b)
	ctx := context.Background()
	k := key(b)
	if err := s.Set(ctx, "session", k, make([]byte, 200), store.SetOptions{TTL: time.Minute}); err != nil {
		b.Fatal(err)
	}
	rt.n.Store(0)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Get(ctx, "session", k, store.GetOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	report(b, rt)
}

// BenchmarkStoreSet is a save as core makes it after the first: a new key,
// the old one made stale, the subject index updated.
func BenchmarkStoreSet(b *testing.B) {
	s, _, rt := benchStore(b)
	ctx := context.Background()
	value := make([]byte, 200)
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = key(b)
	}
	now := time.Now()
	if err := s.Set(ctx, "session", keys[0], value, store.SetOptions{TTL: time.Minute, Now: now, Metadata: benchMD}); err != nil {
		b.Fatal(err)
	}
	rt.n.Store(0)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		err := s.Set(ctx, "session", keys[(i+1)%len(keys)], value, store.SetOptions{
			TTL: time.Minute, Now: now, OldKey: keys[i%len(keys)], StaleTTL: 10 * time.Second, Metadata: benchMD,
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
	report(b, rt)
}

// BenchmarkOpenRead opens a session through core and net/http and reads
// it.
func BenchmarkOpenRead(b *testing.B) {
	s, _, rt := benchStore(b)
	a, ctx, cookie := benchLogin(b, s)
	rt.n.Store(0)
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.read(ctx, cookie); err != nil {
			b.Fatalf("read: %v", err)
		}
	}
	report(b, rt)
}

// BenchmarkOpenModifySave opens a session, changes it and saves it.
func BenchmarkOpenModifySave(b *testing.B) {
	s, _, rt := benchStore(b)
	a, ctx, cookie := benchLogin(b, s)
	rt.n.Store(0)
	b.ResetTimer()
	for b.Loop() {
		var err error
		if cookie, err = a.modify(ctx, cookie); err != nil {
			b.Fatalf("modify: %v", err)
		}
	}
	report(b, rt)
}

// BenchmarkStoreSetFirst is the first save of a session (a login): a new
// key, no old one, indexed in a list that exists.
func BenchmarkStoreSetFirst(b *testing.B) {
	s, _, rt := benchStore(b)
	ctx := context.Background()
	value := make([]byte, 200)
	now := time.Now()
	if err := s.Set(ctx, "session", key(b), value, store.SetOptions{TTL: time.Minute, Now: now, Metadata: benchMD}); err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = key(b)
	}
	rt.n.Store(0)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if err := s.Set(ctx, "session", keys[i%len(keys)], value, store.SetOptions{TTL: time.Minute, Now: now, Metadata: benchMD}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report(b, rt)
}
