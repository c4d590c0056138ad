package session

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func init() {
	parseConfigCases = append(parseConfigCases, []struct {
		name string
		json string
		want Config
	}{
		{"open_cache_size", `{"open_cache_size": 1048576}`, Config{OpenCacheSize: 1 << 20}},
		{"open_cache_size off", `{"open_cache_size": -1}`, Config{OpenCacheSize: -1}},
	}...)
}

func TestParseConfigOpenCacheErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, json, want string }{
		{"fractional", `{"open_cache_size": 0.5}`, "want a whole number"},
		{"huge", `{"open_cache_size": 1e12}`, "out of range"},
		{"not a number", `{"open_cache_size": "big"}`, "open_cache_size"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig([]byte(tt.json))
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseConfig(%s) = %v, want ErrInvalidConfig with %q", tt.json, err, tt.want)
			}
		})
	}
}

// cookieHeader returns the Cookie header a browser sends after the
// responses of r.
func cookieHeader(r *recorder) string {
	var pairs []string
	for _, line := range r.setCookies {
		pair, _, _ := strings.Cut(line, ";")
		if name, value, _ := strings.Cut(pair, "="); name != "" && value != "" {
			pairs = append(pairs, pair)
		}
	}
	return strings.Join(pairs, "; ")
}

// openCacheManager returns a Manager with the open cache (cookie storage,
// or memory storage with store), and counts of its hits.
func openCacheManager(t *testing.T, withStore bool, size int) *Manager {
	t.Helper()
	cfg := Config{Secret: "a long enough secret for the open cache", OpenCacheSize: size, Remember: true}
	if withStore {
		cfg.CompressionThreshold = DefaultCompressionThreshold // deflated records too
		st, err := NewMemoryStore()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = st
	}
	return mustNew(t, cfg)
}

func cacheLen(m *Manager) int {
	n := 0
	if m.openCache == nil {
		return 0
	}
	for i := range m.openCache.shards {
		sh := &m.openCache.shards[i]
		sh.mu.Lock()
		n += len(sh.index)
		sh.mu.Unlock()
	}
	return n
}

// TestOpenCache: a saved cookie opens from the cache with the same data
// (small and deflated, cookie and store storage, session and remember
// cookies); a cookie whose payload or header changed by one character
// misses and fails as it would without the cache; a session deleted from
// the store does not open from the cache; OpenCacheSize -1 keeps nothing.
func TestOpenCache(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("session data that deflates well. ", 100)
	for _, tt := range []struct {
		name      string
		withStore bool
		data      map[string]any
	}{
		{"cookie small", false, map[string]any{"user": "alice"}},
		{"cookie deflated", false, map[string]any{"user": "alice", "blob": big}},
		{"store small", true, map[string]any{"user": "alice"}},
		{"store deflated", true, map[string]any{"user": "alice", "blob": big}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := openCacheManager(t, tt.withStore, 0)
			r := newRecorder("")
			s := m.NewSession(r)
			s.SetData(tt.data)
			s.SetRemember(true)
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			if n := cacheLen(m); n != 0 {
				t.Fatalf("%d cookies cached after the save of a new session, want none", n)
			}
			// The first open decrypts and caches; an update caches the
			// cookies it issues, which then open from the cache.
			s = m.NewSession(newRecorder(cookieHeader(r)))
			if err := s.Open(); err != nil || cacheLen(m) != 1 {
				t.Fatalf("first open: %v, %d cached", err, cacheLen(m))
			}
			r = newRecorder(cookieHeader(r))
			s = m.NewSession(r)
			if err := s.Open(); err != nil {
				t.Fatal(err)
			}
			s.Set("n", 2.0)
			if err := s.Save(); err != nil || cacheLen(m) != 3 {
				t.Fatalf("update: %v, %d cached, want 3", err, cacheLen(m))
			}
			header := cookieHeader(r)
			for i := range 3 { // a hit each time, the same data
				s := m.NewSession(newRecorder(header))
				if err := s.Open(); err != nil || s.Get("user") != "alice" || s.Get("blob") != tt.data["blob"] || s.Get("n") != 2.0 {
					t.Fatalf("open %d: %v, data %v", i, err, s.Data())
				}
			}
			if n := cacheLen(m); n != 3 {
				t.Fatalf("%d cached after opens that hit, want 3", n)
			}
			// The remember cookie alone restores the session from the cache.
			var remember string
			for _, pair := range strings.Split(header, "; ") {
				if strings.HasPrefix(pair, DefaultRememberCookieName+"=") {
					remember = pair
				}
			}
			rs := m.NewSession(newRecorder(remember))
			if err := rs.Open(); err != nil || rs.Get("user") != "alice" || rs.Get("n") != 2.0 {
				t.Fatalf("restore from the remember cookie: %v", err)
			}

			// One character changed in the payload, or in the header: the
			// cache misses, and the cookie fails as it always did.
			name, value, _ := strings.Cut(strings.Split(header, "; ")[0], "=")
			for _, at := range []int{len(value) - 3, 5} {
				if tt.withStore && at > headerEncodedSize {
					continue // the payload is in the store
				}
				b := []byte(value)
				b[at] ^= 1
				if b[at] == '-' || b[at] == '_' || b[at] > 'z' {
					b[at] = 'A'
				}
				s := m.NewSession(newRecorder(name + "=" + string(b)))
				if err := s.Open(); !errors.Is(err, ErrInvalid) {
					t.Fatalf("changed at %d: %v, want ErrInvalid", at, err)
				}
			}

			if tt.withStore {
				// A destroyed session's record is gone: its cookie does
				// not open, whatever the cache holds.
				s := m.NewSession(newRecorder(header))
				if err := s.Open(); err != nil {
					t.Fatal(err)
				}
				if err := s.Destroy(); err != nil {
					t.Fatal(err)
				}
				s = m.NewSession(newRecorder(strings.Split(header, "; ")[0]))
				if err := s.Open(); !errors.Is(err, ErrNotFound) {
					t.Fatalf("open after destroy: %v, want ErrNotFound", err)
				}
			}
		})
	}

	t.Run("off", func(t *testing.T) {
		t.Parallel()
		m := openCacheManager(t, false, -1)
		r := newRecorder("")
		s := m.NewSession(r)
		s.Set("user", "alice")
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		s = m.NewSession(newRecorder(cookieHeader(r)))
		if err := s.Open(); err != nil || s.Get("user") != "alice" || m.openCache != nil {
			t.Fatalf("open without the cache: %v", err)
		}
	})
}

// TestOpenCacheMatch: an entry is found only with the key, cookie kind,
// raw header and payload it was stored with; any one of them different
// misses.
func TestOpenCacheMatch(t *testing.T) {
	t.Parallel()
	c := newOpenCache(1 << 20)
	k1, k2 := &keyMaterial{}, &keyMaterial{}
	var raw [headerSize]byte
	for i := range raw {
		raw[i] = byte(i)
	}
	plain := []byte(`[[{"user":"alice"},"default"]]`)
	c.put(k1, false, &raw, "payload", plain)
	otherHeader := raw
	otherHeader[10] ^= 1 // the same MAC, another header
	for _, tt := range []struct {
		name     string
		key      *keyMaterial
		remember bool
		raw      [headerSize]byte
		payload  string
		hit      bool
	}{
		{"the same", k1, false, raw, "payload", true},
		{"another key", k2, false, raw, "payload", false},
		{"the remember cookie", k1, true, raw, "payload", false},
		{"another header", k1, false, otherHeader, "payload", false},
		{"another payload", k1, false, raw, "paylOad", false},
		{"a longer payload", k1, false, raw, "payload=", false},
	} {
		got, _, _, ok := c.get([]byte("x"), tt.key, tt.remember, &tt.raw, tt.payload)
		if ok != tt.hit || ok && string(got) != "x"+string(plain) {
			t.Errorf("%s: hit %v (%q), want %v", tt.name, ok, got, tt.hit)
		}
	}
	// The cache holds a copy: changing what was put changes nothing.
	plain[3] = 'X'
	if got, _, _, _ := c.get(nil, k1, false, &raw, "payload"); string(got) != `[[{"user":"alice"},"default"]]` {
		t.Fatalf("cached %q", got)
	}
}

// TestOpenCacheBounded: plaintexts of many sizes, put far past the cache's
// size, come back intact while they are there (the arena wraps around
// without one overwriting another), the oldest go first, the live ones
// never overlap, and one larger than a quarter of a shard is not kept.
func TestOpenCacheBounded(t *testing.T) {
	t.Parallel()
	const size = 64 << 10
	c := newOpenCache(size)
	k := &keyMaterial{}
	type put struct {
		raw   [headerSize]byte
		plain []byte
	}
	var puts []put
	for i := range 3000 {
		var p put
		p.raw[headerMACSize] = byte(i)
		p.raw[headerMACSize+1] = byte(i >> 8)
		p.plain = []byte(strings.Repeat(fmt.Sprintf("%d,", i), 1+i*7%150)) // at most 750 bytes, under a quarter of a shard
		c.put(k, false, &p.raw, "payload", p.plain)
		puts = append(puts, p)
	}
	live := 0
	for i, p := range puts {
		got, _, _, ok := c.get(nil, k, false, &p.raw, "payload")
		if !ok {
			if i >= len(puts)-10 {
				t.Fatalf("put %d, among the last, is gone", i)
			}
			continue
		}
		live++
		if string(got) != string(p.plain) {
			t.Fatalf("put %d came back as %q..., want %q...", i, got[:min(20, len(got))], p.plain[:min(20, len(p.plain))])
		}
	}
	if _, _, _, ok := c.get(nil, k, false, &puts[0].raw, "payload"); ok {
		t.Fatal("the oldest entry is still there")
	}
	total := 0
	for i := range c.shards {
		sh := &c.shards[i]
		if len(sh.index) != len(sh.queue)-sh.head {
			t.Fatalf("shard %d: %d indexed, %d queued", i, len(sh.index), len(sh.queue)-sh.head)
		}
		var used []int // pairs of off, end
		for _, e := range sh.queue[sh.head:] {
			if e.off < 0 || e.off+e.n > len(sh.arena) {
				t.Fatalf("shard %d: an entry at %d+%d, past the arena of %d", i, e.off, e.n, len(sh.arena))
			}
			for j := 0; j < len(used); j += 2 {
				if e.off < used[j+1] && used[j] < e.off+e.n {
					t.Fatalf("shard %d: entries overlap", i)
				}
			}
			used = append(used, e.off, e.off+e.n)
			total += e.n
		}
	}
	if total > size || total < size/4 || live == 0 {
		t.Fatalf("%d live entries hold %d bytes, want at most and about %d", live, total, size)
	}
	var raw [headerSize]byte
	raw[headerMACSize] = 0xff
	raw[headerMACSize+1] = 0xff
	c.put(k, false, &raw, "p", make([]byte, size/openCacheShards/4+1))
	if _, _, _, ok := c.get(nil, k, false, &raw, "p"); ok {
		t.Fatal("an entry larger than a quarter of a shard was kept")
	}
}

// TestOpenCachePutAllocs: once a shard's arena exists and its queue has
// grown, caching a cookie allocates nothing.
func TestOpenCachePutAllocs(t *testing.T) {
	c := newOpenCache(1 << 20)
	k := &keyMaterial{}
	plain := []byte(strings.Repeat("x", 300))
	i := 0
	put := func() {
		var raw [headerSize]byte
		raw[headerMACSize] = 0 // one shard
		raw[headerMACSize+1] = byte(i)
		raw[headerMACSize+2] = byte(i >> 8)
		raw[headerMACSize+3] = byte(i >> 16)
		i++
		c.put(k, false, &raw, "payload", plain)
	}
	for range 5000 { // fill the shard, grow the queue and the map
		put()
	}
	if n := testing.AllocsPerRun(1000, put); n != 0 {
		t.Fatalf("a put allocates %v times, want 0", n)
	}
}

func BenchmarkOpenCache(b *testing.B) {
	for _, size := range []int{-1, 0} {
		name := "on"
		if size < 0 {
			name = "off"
		}
		b.Run(name, func(b *testing.B) {
			m := mustNew(b, Config{Secret: "benchmark-secret", OpenCacheSize: size})
			r := newRecorder("")
			s := m.NewSession(r)
			s.SetData(map[string]any{"user": "alice", "blob": strings.Repeat("token-ish text ", 140)})
			if err := s.Save(); err != nil {
				b.Fatal(err)
			}
			ex := newRecorder(cookieHeader(r))
			b.ReportAllocs()
			for b.Loop() {
				s := m.NewSession(ex)
				if err := s.Open(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestOpenCacheConcurrent: many sessions opened and updated at once
// through a cache small enough to evict all the time each read back their
// own data (run with -race).
func TestOpenCacheConcurrent(t *testing.T) {
	t.Parallel()
	m := openCacheManager(t, false, 8<<10)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("user-%d-%s", g, strings.Repeat("x", g*40))
			r := newRecorder("")
			s := m.NewSession(r)
			s.Set("user", user)
			if err := s.Save(); err != nil {
				errs <- err
				return
			}
			header := cookieHeader(r)
			for i := range 50 {
				r := newRecorder(header)
				s := m.NewSession(r)
				if err := s.Open(); err != nil || s.Get("user") != user || i > 0 && s.Get("i") != float64(i-1) {
					errs <- fmt.Errorf("goroutine %d, open %d: %v, user %v, i %v", g, i, err, s.Get("user"), s.Get("i"))
					return
				}
				s.Set("i", float64(i))
				if err := s.Save(); err != nil {
					errs <- err
					return
				}
				header = cookieHeader(r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestOpenCacheEntries: once a cookie has been opened from the cache twice,
// its decoded data comes from the cache, as a copy: what one request
// changes in it, nested maps and lists included, no other request sees.
func TestOpenCacheEntries(t *testing.T) {
	t.Parallel()
	m := openCacheManager(t, false, 0)
	r := newRecorder("")
	s := m.NewSession(r)
	s.SetData(map[string]any{"user": "alice", "cart": map[string]any{"items": []any{"a", "b"}}})
	s.SetRevocationKeys("login:1")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	header := cookieHeader(r)
	kept := func() bool {
		for i := range m.openCache.shards {
			sh := &m.openCache.shards[i]
			sh.mu.Lock()
			for _, e := range sh.queue[sh.head:] {
				if e.kept != nil {
					sh.mu.Unlock()
					return true
				}
			}
			sh.mu.Unlock()
		}
		return false
	}
	for i := range 4 {
		s := m.NewSession(newRecorder(header))
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		cart, _ := s.Get("cart").(map[string]any)
		items, _ := cart["items"].([]any)
		if s.Get("user") != "alice" || len(items) != 2 || items[0] != "a" || len(s.RevocationKeys()) != 1 {
			t.Fatalf("open %d: data %v, keys %v", i, s.Data(), s.RevocationKeys())
		}
		// The first open decrypts (a new session's save caches nothing),
		// the next two hit the plaintext, the second of them keeps the
		// decoded entries.
		if want := i >= 2; kept() != want {
			t.Fatalf("after open %d: entries kept %v, want %v", i, kept(), want)
		}
		// Change everything this request can reach.
		items[0] = "changed"
		cart["items"] = append(items, "c")
		cart["new"] = true
		s.Set("user", "mallory")
		s.SetRevocationKeys("other")
	}
}

// TestOpenCacheStartsSmall: a Manager that caches one session holds a few
// kilobytes, not its whole OpenCacheSize.
func TestOpenCacheStartsSmall(t *testing.T) {
	t.Parallel()
	c := newOpenCache(DefaultOpenCacheSize)
	var raw [headerSize]byte
	c.put(&keyMaterial{}, false, &raw, "payload", make([]byte, 300))
	total := 0
	for i := range c.shards {
		total += len(c.shards[i].arena)
	}
	if total > 4096 {
		t.Fatalf("one cached session holds %d bytes of arena, want at most 4096", total)
	}
}

// keptSnapshot returns deep copies of what the open cache keeps of the
// cookies opened from it twice, by MAC.
func keptSnapshot(m *Manager) map[[macSize]byte]keptOpen {
	out := map[[macSize]byte]keptOpen{}
	for i := range m.openCache.shards {
		sh := &m.openCache.shards[i]
		sh.mu.Lock()
		for _, e := range sh.queue[sh.head:] {
			if e.kept != nil {
				c := cloneEntries(e.kept.entries)
				for j := range c {
					c[j].keys = slices.Clone(e.kept.entries[j].keys)
				}
				out[macOf(&e.raw)] = keptOpen{entries: c, rev: revLookup{keys: slices.Clone(e.kept.rev.keys), hashed: slices.Clone(e.kept.rev.hashed)}}
			}
		}
		sh.mu.Unlock()
	}
	return out
}

// TestOpenCacheSharedData: a session opened from the decoded entries the
// cache keeps shares their maps until it changes them or hands them out;
// nothing a request does through the API reaches the cache, with one
// audience, with two, and when the cookie lacks the configured audience.
func TestOpenCacheSharedData(t *testing.T) {
	t.Parallel()
	const secret = "a long enough secret for the open cache"
	manager := func(audience string) *Manager {
		return mustNew(t, Config{Secret: secret, Audience: audience})
	}
	data := func() map[string]any {
		return map[string]any{
			"user": "alice",
			"cart": map[string]any{"items": []any{"a", "b"}, "n": 2.0},
			"tags": []any{"x", map[string]any{"y": true}},
		}
	}
	save := func(m *Manager, cookie string, change func(s *Session)) string {
		t.Helper()
		r := newRecorder(cookie)
		s := m.NewSession(r)
		s.Open() //nolint:errcheck // a new session when there is no cookie
		change(s)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		return cookieHeader(r)
	}
	fill := func(s *Session) {
		s.SetData(data())
		s.Flash("notice", "hello")
		s.Info().Set("prefs", map[string]any{"theme": "dark"})
		s.SetRevocationKeys("login:1")
	}
	mutations := []struct {
		name   string
		change func(t *testing.T, s *Session)
	}{
		{"Get map", func(t *testing.T, s *Session) {
			if cart, ok := s.Get("cart").(map[string]any); ok {
				cart["items"].([]any)[0] = "changed"
				cart["new"] = true
				delete(cart, "n")
			}
		}},
		{"Get list", func(t *testing.T, s *Session) {
			if tags, ok := s.Get("tags").([]any); ok {
				tags[0] = "changed"
				tags[1].(map[string]any)["y"] = false
			}
		}},
		{"Data", func(t *testing.T, s *Session) {
			d := s.Data()
			d["user"] = "mallory"
			delete(d, "cart")
			if s.Get("user") != "mallory" {
				t.Error("Data: the change did not reach the session")
			}
		}},
		{"Set", func(t *testing.T, s *Session) { s.Set("user", "mallory"); s.Set("cart", nil) }},
		{"SetData", func(t *testing.T, s *Session) {
			mine := map[string]any{"x": 1.0}
			s.SetData(mine)
			s.Set("z", 3.0)
			mine["y"] = 2.0
			if s.Get("y") != 2.0 {
				t.Error("SetData: the map set is not the session's")
			}
		}},
		{"Flash", func(t *testing.T, s *Session) { s.Flash("notice", "more") }},
		{"Flashes", func(t *testing.T, s *Session) {
			if got := s.Flashes("notice"); s.Exists() && (len(got) != 1 || got[0] != "hello") {
				t.Errorf("Flashes %v", got)
			}
		}},
		{"PopFlashes", func(t *testing.T, s *Session) {
			if got, err := PopFlashes[string](s, "notice"); err != nil || s.Exists() && len(got) != 1 {
				t.Errorf("PopFlashes %v, %v", got, err)
			}
		}},
		{"Info Get", func(t *testing.T, s *Session) {
			if prefs, ok := s.Info().Get("prefs").(map[string]any); ok {
				prefs["theme"] = "light"
			}
		}},
		{"Info Set", func(t *testing.T, s *Session) { s.Info().Set("prefs", nil) }},
		{"SetAudience", func(t *testing.T, s *Session) { s.SetAudience("elsewhere"); s.Set("user", "mallory") }},
		{"SetRevocationKeys", func(t *testing.T, s *Session) { s.SetRevocationKeys("other") }},
		{"Decode", func(t *testing.T, s *Session) {
			var cart map[string]any
			if err := s.Decode("cart", &cart); err == nil {
				cart["new"] = true
			} else if s.Exists() {
				t.Error(err)
			}
		}},
		{"Save", func(t *testing.T, s *Session) {
			s.Set("n", 1.0)
			if err := s.Save(); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tt := range []struct {
		name   string
		cookie func() (*Manager, string)
		exists bool
	}{
		{"one audience", func() (*Manager, string) {
			m := manager("")
			return m, save(m, "", fill)
		}, true},
		{"two audiences", func() (*Manager, string) {
			a, b := manager("a"), manager("b")
			return b, save(b, save(a, "", fill), fill)
		}, true},
		{"audience missing", func() (*Manager, string) {
			return manager("c"), save(manager("a"), "", fill)
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, header := tt.cookie()
			for range 3 { // decrypted, then a hit, then a hit that keeps the entries
				m.NewSession(newRecorder(header)).Open() //nolint:errcheck // checked below
			}
			before := keptSnapshot(m)
			if len(before) != 1 {
				t.Fatalf("%d cookies with kept entries, want 1", len(before))
			}
			for _, mu := range mutations {
				s := m.NewSession(newRecorder(header))
				s.Open() //nolint:errcheck // the missing audience's error
				if s.Exists() != tt.exists || !s.shared {
					t.Fatalf("%s: exists %v, shared %v: the open did not use the kept entries", mu.name, s.Exists(), s.shared)
				}
				mu.change(t, s)
				if got := keptSnapshot(m); !reflect.DeepEqual(got, before) {
					t.Fatalf("%s reached the cache:\n got %v\nwant %v", mu.name, got, before)
				}
			}
			// Reads from many requests at once, some of them changing
			// their copy (run with -race).
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for range 20 {
						s := m.NewSession(newRecorder(header))
						s.Open() //nolint:errcheck // the missing audience's error
						if cart, ok := s.Get("cart").(map[string]any); ok && g%2 == 0 {
							cart["g"] = g
						} else if s.Get("user") != "alice" && tt.exists {
							t.Errorf("user %v", s.Get("user"))
						}
					}
				})
			}
			wg.Wait()
			if got := keptSnapshot(m); !reflect.DeepEqual(got, before) {
				t.Fatalf("concurrent requests reached the cache:\n got %v\nwant %v", got, before)
			}
		})
	}
}

// keptLookup returns the revocation lookup the open cache keeps with the
// only cookie it keeps decoded entries of.
func keptLookup(t *testing.T, m *Manager) revLookup {
	t.Helper()
	kept := keptSnapshot(m)
	if len(kept) != 1 {
		t.Fatalf("%d cookies with kept entries, want 1", len(kept))
	}
	for _, k := range kept {
		return k.rev
	}
	return revLookup{}
}

// TestOpenCacheRevocation: an open that shares what the cache kept of a
// cookie uses the store keys hashed with it only when it looks up the same
// keys, and every kind of revocation still rejects the cookie.
func TestOpenCacheRevocation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		revoke func(t *testing.T, m *Manager, j stJar)
	}{
		{"key", func(t *testing.T, m *Manager, j stJar) {
			if err := m.Revoke(ctx, "login:2", 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"subject", func(t *testing.T, m *Manager, j stJar) {
			if _, err := m.RevokeSessions(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
		}},
		{"id", func(t *testing.T, m *Manager, j stJar) {
			if _, err := revDestroy(t, m, j.clone()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newRevManager(t, newRevStore(0), newStoreClock(), nil)
			j := revLogin(t, m, "alice", "login:1", "login:2")
			for range 3 { // decrypted, then a hit, then a hit that keeps the entries
				wantOpens(t, m, j, "before the revocation")
			}
			rev := keptLookup(t, m)
			if len(rev.keys) != 4 || len(rev.hashed) != 4 {
				t.Fatalf("kept lookup of %d keys, %d hashed; want the id, the subject and 2 keys", len(rev.keys), len(rev.hashed))
			}
			for i := range rev.keys {
				if rev.hashed[i] != rev.keys[i].storeKey() {
					t.Fatalf("kept store key %d is %q, want %q", i, rev.hashed[i], rev.keys[i].storeKey())
				}
			}
			wantOpens(t, m, j, "from what the cache kept")
			tt.revoke(t, m, j)
			wantRevoked(t, m, j, tt.name)
		})
	}

	// A session whose audience is changed before it opens looks up another
	// entry's subject: not the kept lookup of the Manager's audience.
	t.Run("another audience", func(t *testing.T) {
		t.Parallel()
		backend, clock := newRevStore(0), newStoreClock()
		a := newRevManager(t, backend, clock, func(c *Config) { c.Audience = "a" })
		b := newRevManager(t, backend, clock, func(c *Config) { c.Audience = "b" })
		j := revLogin(t, a, "alice")
		revServe(t, b, j, func(s *Session) {
			s.Open() //nolint:errcheck // the audience is missing
			s.SetSubject("alice")
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
		})
		for range 3 {
			wantOpens(t, a, j, "before the revocation")
		}
		if rev := keptLookup(t, a); len(rev.keys) != 2 || rev.keys[1].a != "a" {
			t.Fatalf("kept lookup %+v, want the id and audience a's subject", rev.keys)
		}
		if _, err := b.RevokeSessions(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		wantOpens(t, a, j, "audience a after audience b's revocation")
		var err error
		revServe(t, a, j.clone(), func(s *Session) {
			s.SetAudience("b")
			err = s.Open()
		})
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("audience b through a's Manager: Open = %v, want the revocation (ErrNotFound)", err)
		}
	})
}

// TestOpenCacheVerified: an open skips the MAC of a header the cache holds
// byte for byte; a header with any byte changed (its MAC too), a session
// header offered as the remember cookie, and a header bound to the request
// get their MAC checked, and fail as they would without the cache.
func TestOpenCacheVerified(t *testing.T) {
	t.Parallel()
	rawOf := func(t *testing.T, cookies, name string) [headerSize]byte {
		t.Helper()
		for _, pair := range strings.Split(cookies, "; ") {
			if n, v, _ := strings.Cut(pair, "="); n == name {
				var raw [headerSize]byte
				var h header
				if err := decodeHeader(v, &raw, &h); err != nil {
					t.Fatal(err)
				}
				return raw
			}
		}
		t.Fatalf("no cookie %s in %q", name, cookies)
		return [headerSize]byte{}
	}
	m := openCacheManager(t, false, 0)
	r := newRecorder("")
	s := m.NewSession(r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	header := cookieHeader(r)
	raw := rawOf(t, header, DefaultCookieName)
	if m.openCache.verified(false, &raw) != nil {
		t.Fatal("a new session's header is verified before any open cached it")
	}
	if err := m.NewSession(newRecorder(header)).Open(); err != nil {
		t.Fatal(err)
	}
	if k := m.openCache.verified(false, &raw); k != m.keys[0] {
		t.Fatalf("verified = %p, want the key that opened the cookie (%p)", k, m.keys[0])
	}
	if m.openCache.verified(true, &raw) != nil {
		t.Error("the session cookie's header is verified as a remember cookie")
	}
	for _, at := range []int{3, headerMACSize - 1, headerMACSize, headerSize - 1} {
		changed := raw
		changed[at] ^= 1
		if m.openCache.verified(false, &changed) != nil {
			t.Errorf("header changed at byte %d is verified", at)
		}
	}
	// The MAC's encoded characters changed: the open fails.
	name, value, _ := strings.Cut(strings.Split(header, "; ")[0], "=")
	b := []byte(value)
	b[headerEncodedSize-2] ^= 1
	if err := m.NewSession(newRecorder(name + "=" + string(b))).Open(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("MAC changed: %v, want ErrInvalid", err)
	}

	// Bound to the client's address: another address fails, however often
	// the cookie was opened from the first.
	bound := mustNew(t, Config{Secret: "a long enough secret for the open cache", Bind: []Binding{BindIP}})
	r = newRecorder("")
	r.remoteAddr = "192.0.2.1"
	s = bound.NewSession(r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	header = cookieHeader(r)
	for range 3 {
		r := newRecorder(header)
		r.remoteAddr = "192.0.2.1"
		if err := bound.NewSession(r).Open(); err != nil {
			t.Fatal(err)
		}
	}
	other := newRecorder(header)
	other.remoteAddr = "198.51.100.7"
	if err := bound.NewSession(other).Open(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bound cookie from another address: %v, want ErrInvalid", err)
	}
}
