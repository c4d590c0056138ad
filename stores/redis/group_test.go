package redisstore_test

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// The Store contract's rules for revocation that holds (core/store/store.go):
// a save from a record that is gone stores nothing, the records of one
// browser session form a group, and Delete ends the whole group.

func TestGroups(t *testing.T) {
	t.Parallel()
	for _, m := range saveModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testGroupRules(t, m)
		})
	}
}

// groups drives one store in the group tests.
type groups struct {
	t      *testing.T
	s      *redisstore.Store
	c      redis.UniversalClient
	prefix string
	ctx    context.Context
	now    time.Time
	md     *store.Metadata // given to every Set and Delete under "session"
}

// newGroups returns a store of its own on mode m, under prefix (the test's
// own when empty).
func newGroups(t *testing.T, m mode, prefix string) *groups {
	c := connect(t, m)
	if prefix == "" {
		prefix = testPrefix(t, c)
	}
	return &groups{
		t: t, s: mustNew(t, c, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, m.opts...)...), c: c, prefix: prefix,
		ctx: context.Background(), now: time.Now(),
		md: &store.Metadata{Audiences: []string{"YXBw"}, Subjects: []string{key(t)[:12]}},
	}
}

// bookkeeping returns the group bookkeeping keys of the store.
func (g *groups) bookkeeping() []string { return scanKeys(g.c, "{"+g.prefix+":*") }

// trySet is Set with the tests' defaults: a one-hour TTL, a one-hour stale
// TTL (stale records stay readable through the test), the metadata.
func (g *groups) trySet(name, k string, value string, opts store.SetOptions) error {
	if opts.TTL == 0 {
		opts.TTL = time.Hour
	}
	if opts.StaleTTL == 0 {
		opts.StaleTTL = time.Hour
	}
	if opts.StaleTTL < 0 {
		opts.StaleTTL = 0
	}
	opts.Now = g.now
	if name == "session" {
		opts.Metadata = g.md
	}
	return g.s.Set(g.ctx, name, k, []byte(value), opts)
}

func (g *groups) set(name, k string, opts store.SetOptions) {
	g.t.Helper()
	if err := g.trySet(name, k, "value of "+k, opts); err != nil {
		g.t.Fatalf("Set(%s, %s): %v", name, k, err)
	}
}

// chain saves a new session and rotates it n-1 times, each save with the
// previous key as OldKey, and returns the keys, oldest first.
func (g *groups) chain(n int) []string {
	g.t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = key(g.t)
		var old string
		if i > 0 {
			old = keys[i-1]
		}
		g.set("session", keys[i], store.SetOptions{OldKey: old})
	}
	return keys
}

func (g *groups) del(name, k string) {
	g.t.Helper()
	opts := store.DeleteOptions{Now: g.now}
	if name == "session" {
		opts.Metadata = g.md
	}
	if err := g.s.Delete(g.ctx, name, k, opts); err != nil {
		g.t.Fatalf("Delete(%s, %s): %v", name, k, err)
	}
}

func (g *groups) alive(name, k, why string) {
	g.t.Helper()
	got, err := g.s.Get(g.ctx, name, k, store.GetOptions{Now: g.now})
	if err != nil || !strings.HasPrefix(string(got), "value of ") {
		g.t.Fatalf("%s: Get(%s, %s) = %q, %v; want the record", why, name, k, got, err)
	}
}

// gone checks that the record is missing, with its link key, and that no
// index lists it.
func (g *groups) gone(name, k, why string) {
	g.t.Helper()
	if got, err := g.s.Get(g.ctx, name, k, store.GetOptions{Now: g.now}); !errors.Is(err, session.ErrNotFound) {
		g.t.Fatalf("%s: Get(%s, %s) = %q, %v; want ErrNotFound", why, name, k, got, err)
	}
	if link := redisstore.LinkKey(g.s.Key(name, k)); g.c.Exists(g.ctx, link).Val() != 0 {
		g.t.Fatalf("%s: the link key %s of a missing record is left", why, link)
	}
	if slices.Contains(g.listed(name), k) {
		g.t.Fatalf("%s: Sessions(%s) lists %s", why, name, k)
	}
}

// listed returns the keys that Sessions lists under name for the metadata.
func (g *groups) listed(name string) []string {
	g.t.Helper()
	entries, err := g.s.Sessions(g.ctx, name, g.md.Audiences[0], g.md.Subjects[0], g.now)
	if err != nil {
		g.t.Fatalf("Sessions: %v", err)
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	return keys
}

// wantNotFound checks that a Set failed with an error matching
// session.ErrNotFound, and not session.ErrStore.
func wantNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrStore) {
		t.Fatalf("%s: %v, want an error matching session.ErrNotFound only", what, err)
	}
}

func partner(k string) store.RecordKey { return store.RecordKey{Name: "session", Key: k} }

func testGroupRules(t *testing.T, m mode) {
	t.Run("old key missing: nothing stored", func(t *testing.T) {
		g := newGroups(t, m, "")
		deleted := g.chain(1)[0]
		g.del("session", deleted)
		for _, old := range []string{key(t), deleted} {
			k := key(t)
			wantNotFound(t, g.trySet("session", k, "value of "+k, store.SetOptions{OldKey: old}), "Set with a missing OldKey")
			g.gone("session", k, "after a Set with a missing OldKey")
			if n := g.c.Exists(g.ctx, g.s.IndexKey("session", g.md.Audiences[0], g.md.Subjects[0])).Val(); n != 0 {
				t.Fatal("a Set with a missing OldKey wrote the subject index")
			}
			if n := g.c.Exists(g.ctx, g.s.Key("session", old)).Val(); n != 0 {
				t.Fatal("a Set with a missing OldKey wrote the old record")
			}
		}
	})

	t.Run("delete of the newest ends the chain", func(t *testing.T) {
		g := newGroups(t, m, "")
		keys := g.chain(3)
		for _, k := range keys {
			g.alive("session", k, "a record of the chain before Delete")
		}
		if got := g.listed("session"); !slices.Equal(got, keys[2:]) {
			t.Fatalf("Sessions = %v, want the newest key only", got)
		}
		g.del("session", keys[2])
		for _, k := range keys {
			g.gone("session", k, "a record of the chain after Delete of the newest")
		}
	})

	t.Run("delete of a stale record ends its successors", func(t *testing.T) {
		g := newGroups(t, m, "")
		keys := g.chain(3)
		g.del("session", keys[0])
		for _, k := range keys {
			g.gone("session", k, "a record of the chain after Delete of the oldest")
		}
	})

	t.Run("forks end together", func(t *testing.T) {
		for _, deleted := range []int{0, 1} {
			g := newGroups(t, m, "")
			root := g.chain(1)[0]
			forks := []string{key(t), key(t)}
			for _, k := range forks {
				g.set("session", k, store.SetOptions{OldKey: root})
			}
			g.del("session", forks[deleted])
			for _, k := range append(forks, root) {
				g.gone("session", k, "a fork after Delete of the other")
			}
		}
	})

	t.Run("partner records end together", func(t *testing.T) {
		g := newGroups(t, m, "")
		// Delete of the session record ends the remember record, and the
		// reverse.
		for _, deleteSession := range []bool{true, false} {
			s, r := g.chain(1)[0], key(t)
			g.set("remember", r, store.SetOptions{Partner: partner(s)})
			if deleteSession {
				g.del("session", s)
			} else {
				g.del("remember", r)
			}
			g.gone("session", s, "the session record after Delete of a partner")
			g.gone("remember", r, "the remember record after Delete of a partner")
		}
		// A remember record that rotates along a rotated session record.
		s := g.chain(1)[0]
		r := key(t)
		g.set("remember", r, store.SetOptions{Partner: partner(s)})
		s2, r2 := key(t), key(t)
		g.set("session", s2, store.SetOptions{OldKey: s})
		g.set("remember", r2, store.SetOptions{OldKey: r, Partner: partner(s2)})
		g.del("session", s2)
		for _, k := range []string{r, r2} {
			g.gone("remember", k, "a remember record after Delete of the rotated session record")
		}
		g.gone("session", s, "the first session record")
	})

	t.Run("the group's other records leave their indexes", func(t *testing.T) {
		c := connect(t, m)
		st := mustNew(t, c, append([]redisstore.Option{redisstore.WithPrefix(testPrefix(t, c)), redisstore.WithSuffix("sfx")}, m.opts...)...)
		ctx, now := context.Background(), time.Now()
		md := &store.Metadata{Audiences: []string{"YXBw"}, Subjects: []string{"YWxpY2U"}}
		s1, s2, r1, r2 := key(t), key(t), key(t), key(t)
		for _, w := range []struct {
			name, key string
			opts      store.SetOptions
		}{
			{"session", s1, store.SetOptions{}},
			{"remember", r1, store.SetOptions{Partner: partner(s1)}},
			{"session", s2, store.SetOptions{OldKey: s1, StaleTTL: time.Hour}},
			{"remember", r2, store.SetOptions{OldKey: r1, StaleTTL: time.Hour, Partner: partner(s2)}},
		} {
			w.opts.TTL, w.opts.Now, w.opts.Metadata = time.Hour, now, md
			if err := st.Set(ctx, w.name, w.key, []byte("v"), w.opts); err != nil {
				t.Fatal(err)
			}
		}
		// The reference deletes the session and the remember record,
		// each with its index entry; a Delete of the session record here
		// ends both, and both leave their indexes.
		if err := st.Delete(ctx, "session", s2, store.DeleteOptions{Now: now, Metadata: md}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"session", "remember"} {
			if k := st.IndexKey(name, "YXBw", "YWxpY2U"); c.Exists(ctx, k).Val() != 0 {
				t.Errorf("index %s left after the Delete of the group: %v", k, c.ZRange(ctx, k, 0, -1).Val())
			}
		}
	})

	t.Run("partner missing: nothing stored", func(t *testing.T) {
		g := newGroups(t, m, "")
		old := key(t)
		g.set("remember", old, store.SetOptions{})
		gone := g.chain(1)[0]
		g.del("session", gone)
		for _, p := range []string{key(t), gone} {
			for _, opts := range []store.SetOptions{{Partner: partner(p)}, {OldKey: old, Partner: partner(p)}} {
				r := key(t)
				wantNotFound(t, g.trySet("remember", r, "value of "+r, opts), "Set with a missing partner")
				g.gone("remember", r, "after a Set with a missing partner")
			}
		}
		g.alive("remember", old, "the old record of a Set whose partner is missing")
		if ttl := g.c.PTTL(g.ctx, g.s.Key("remember", old)).Val(); ttl < 59*time.Minute {
			t.Fatalf("a Set that failed on its partner shortened the old record to %v", ttl)
		}
	})

	t.Run("partner wins over the old record's group", func(t *testing.T) {
		g := newGroups(t, m, "")
		s := g.chain(1)[0]
		old := key(t)
		g.set("remember", old, store.SetOptions{})
		r := key(t)
		g.set("remember", r, store.SetOptions{OldKey: old, Partner: partner(s)})
		g.del("session", s)
		g.gone("remember", r, "a record set with OldKey and Partner after Delete of the partner")
		g.alive("remember", old, "the old record, in a group of its own")
	})

	t.Run("replace keeps expiry, group and index", func(t *testing.T) {
		g := newGroups(t, m, "")
		keys := g.chain(2)
		k := keys[1]
		rk := g.s.Key("session", k)
		start := time.Now()
		before := g.c.PTTL(g.ctx, rk).Val()
		listed := g.listed("session")
		// TTL, OldKey, Partner and Metadata are ignored.
		err := g.trySet("session", k, "value of replaced", store.SetOptions{
			Replace: true, TTL: time.Second, OldKey: key(t), Partner: partner(key(t)),
		})
		if err != nil {
			t.Fatalf("Replace: %v", err)
		}
		after := g.c.PTTL(g.ctx, rk).Val()
		if elapsed := time.Since(start); after > before || after < before-elapsed-time.Millisecond {
			t.Fatalf("PTTL after Replace = %v, before %v, %v apart: want the expiry kept", after, before, elapsed)
		}
		if got, _ := g.s.Get(g.ctx, "session", k, store.GetOptions{}); string(got) != "value of replaced" {
			t.Fatalf("Get after Replace = %q", got)
		}
		if got := g.listed("session"); !slices.Equal(got, listed) {
			t.Fatalf("Sessions after Replace = %v, want %v", got, listed)
		}
		g.del("session", keys[0])
		g.gone("session", k, "a replaced record after Delete of its group")
	})

	t.Run("replace of a missing record: nothing stored", func(t *testing.T) {
		g := newGroups(t, m, "")
		deleted := g.chain(1)[0]
		g.del("session", deleted)
		for _, k := range []string{key(t), deleted} {
			wantNotFound(t, g.trySet("session", k, "value of "+k, store.SetOptions{Replace: true}), "Replace of a missing record")
			g.gone("session", k, "after Replace of a missing record")
		}
	})

	t.Run("records written by the reference", func(t *testing.T) {
		g := newGroups(t, m, "")
		// lua-resty-session writes a record with SET ... EX and knows
		// nothing of groups.
		reference := func() string {
			k := key(t)
			if err := g.c.Set(g.ctx, g.s.Key("session", k), "value of "+k, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			return k
		}
		lone := reference()
		g.del("session", lone)
		g.gone("session", lone, "a reference record after Delete")

		for _, deleteOld := range []bool{true, false} {
			ref, next := reference(), key(t)
			g.set("session", next, store.SetOptions{OldKey: ref})
			g.alive("session", ref, "a reference record after a rotation")
			if got := g.c.Get(g.ctx, g.s.Key("session", ref)).Val(); got != "value of "+ref {
				t.Fatalf("the reference record's value changed to %q", got)
			}
			if deleteOld {
				g.del("session", ref)
			} else {
				g.del("session", next)
			}
			g.gone("session", ref, "a reference record after Delete of its group")
			g.gone("session", next, "its rotation after Delete of its group")
		}
	})

	t.Run("zero stale ttl deletes the old record only", func(t *testing.T) {
		g := newGroups(t, m, "")
		first := g.chain(1)[0]
		next := key(t)
		g.set("session", next, store.SetOptions{OldKey: first, StaleTTL: -1})
		g.gone("session", first, "the old record after a save with StaleTTL 0")
		g.alive("session", next, "the new record after a save with StaleTTL 0")
		last := key(t)
		g.set("session", last, store.SetOptions{OldKey: next})
		g.del("session", last)
		g.gone("session", next, "a record of the group after Delete")
	})

	t.Run("a key set anew leaves its group", func(t *testing.T) {
		g := newGroups(t, m, "")
		keys := g.chain(2)
		g.set("session", keys[0], store.SetOptions{})
		g.del("session", keys[1])
		g.alive("session", keys[0], "a record set anew without OldKey, after Delete of its former group")
	})

	t.Run("bookkeeping keys expire", func(t *testing.T) {
		g := newGroups(t, m, "")
		s := g.chain(3)
		r := key(t)
		g.set("remember", r, store.SetOptions{Partner: partner(s[2]), TTL: 2 * time.Hour})
		bookkeeping := g.bookkeeping()
		// A link per record, one group.
		if len(bookkeeping) != 5 {
			t.Fatalf("bookkeeping keys = %q, want 4 links and 1 group", bookkeeping)
		}
		for _, k := range bookkeeping {
			ttl := g.c.PTTL(g.ctx, k).Val()
			if ttl <= 0 || ttl > 2*time.Hour+time.Minute {
				t.Fatalf("PTTL of %s = %v, want at most the longest record's TTL and a minute", k, ttl)
			}
		}
		g.del("session", s[1])
		left := g.bookkeeping()
		if m.name == "cluster" {
			// the group stays marked as ended for a minute: the member ""
			if len(left) != 1 || !slices.Equal(g.c.ZRange(g.ctx, left[0], 0, -1).Val(), []string{""}) ||
				g.c.PTTL(g.ctx, left[0]).Val() > time.Minute {
				t.Fatalf("bookkeeping keys after Delete = %q, want the ended group only", left)
			}
		} else if len(left) != 0 {
			t.Fatalf("bookkeeping keys after Delete = %q, want none", left)
		}
	})

	t.Run("a prefix with a hash tag", func(t *testing.T) {
		c := connect(t, m)
		prefix := "{" + testPrefix(t, c) + "}"
		t.Cleanup(func() {
			for _, k := range scanKeys(c, prefix+"*") {
				c.Del(context.Background(), k)
			}
		})
		g := newGroups(t, m, prefix)
		keys := g.chain(2)
		r := key(t)
		g.set("remember", r, store.SetOptions{Partner: partner(keys[1])})
		link := redisstore.LinkKey(g.s.Key("session", keys[1]))
		if want := g.s.Key("session", keys[1]) + ":{group}"; link != want || c.Exists(g.ctx, link).Val() != 1 {
			t.Fatalf("link key %s (exists: %d), want %s", link, c.Exists(g.ctx, link).Val(), want)
		}
		g.del("session", keys[0])
		g.gone("session", keys[1], "a record after Delete of its group")
		g.gone("remember", r, "a partner record after Delete of its group")
	})

	t.Run("long subjects", func(t *testing.T) {
		g := newGroups(t, m, "")
		long := make([]byte, 1000)
		for i := range long {
			long[i] = byte('a' + i%26)
		}
		g.md = &store.Metadata{
			Audiences: []string{"YXBw", "YXBw"},
			Subjects: []string{
				base64.RawURLEncoding.EncodeToString(long),                                      // 1,334 characters
				base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(string(long), 100))), // 133,334
			},
		}
		keys := g.chain(2)
		for i := range g.md.Subjects {
			entries, err := g.s.Sessions(g.ctx, "session", g.md.Audiences[i], g.md.Subjects[i], g.now)
			if err != nil || len(entries) != 1 || entries[0].Key != keys[1] {
				t.Fatalf("Sessions of a %d-character subject = %v, %v; want the saved key", len(g.md.Subjects[i]), entries, err)
			}
		}
		// A failed save writes none of the index keys.
		k := key(t)
		g.md.Subjects[0] = base64.RawURLEncoding.EncodeToString(append(long, '!'))
		wantNotFound(t, g.trySet("session", k, "v", store.SetOptions{OldKey: key(t)}), "Set with a missing OldKey")
		if n := g.c.Exists(g.ctx, g.s.IndexKey("session", g.md.Audiences[0], g.md.Subjects[0])).Val(); n != 0 {
			t.Fatal("a failed Set wrote the index of a long subject")
		}
		g.md.Subjects[0] = base64.RawURLEncoding.EncodeToString(long)
		g.del("session", keys[1])
		for i := range g.md.Subjects {
			if n := g.c.Exists(g.ctx, g.s.IndexKey("session", g.md.Audiences[i], g.md.Subjects[i])).Val(); n != 0 {
				t.Fatalf("the index of a %d-character subject is left after Delete of its only session", len(g.md.Subjects[i]))
			}
		}
		g.gone("session", keys[0], "after Delete")
	})
}
