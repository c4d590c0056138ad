package memcachedstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

func TestReplace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	replace := func(g *groupCase, r rec, value string, o store.SetOptions) error {
		o.Replace = true
		return g.s.Set(ctx, r.name, r.key, []byte(value), o)
	}

	t.Run("keeps expiry and index entries, ignores the rest", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		k := sess(t)
		now := time.Now()
		g.set(k, store.SetOptions{Now: now})
		other := &store.Metadata{Audiences: []string{"b3RoZXI"}, Subjects: []string{"Ym9i"}}
		err := replace(g, k, "replaced", store.SetOptions{TTL: 100 * time.Hour, Now: now.Add(time.Minute), OldKey: key(t), Metadata: other})
		if err != nil {
			t.Fatalf("Replace: %v", err)
		}
		if got, err := g.s.Get(ctx, k.name, k.key, store.GetOptions{}); err != nil || string(got) != "replaced" {
			t.Fatalf("Get after Replace = %q, %v", got, err)
		}
		it, err := g.c.Get(g.s.Key(k.name, k.key))
		if err != nil || it.Flags != 0 {
			t.Fatalf("record after Replace = %v, %v; want flags 0, as the reference writes them", it, err)
		}
		p, err := g.c.Get(memcachedstore.PointerKey(g.s, k.name, k.key))
		if err != nil || int64(p.Flags) != now.Unix()+3600 {
			t.Fatalf("expiry in the group pointer's flags after Replace = %v, %v; want the record's, %d", p, err, now.Unix()+3600)
		}
		entries, err := g.s.Sessions(ctx, k.name, g.md.Audiences[0], g.md.Subjects[0], now)
		if err != nil || !equalEntries(entries, []store.IndexEntry{{Key: k.key, Expires: time.Unix(now.Unix()+3600, 0)}}) {
			t.Fatalf("Sessions after Replace = %v, %v; want the entry of the first Set", entries, err)
		}
		if entries, _ := g.s.Sessions(ctx, k.name, other.Audiences[0], other.Subjects[0], now); len(entries) != 0 {
			t.Fatalf("Replace indexed the record under its Metadata: %v", entries)
		}
	})

	t.Run("keeps the expiry on the server", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		k := sess(t)
		g.set(k, store.SetOptions{TTL: readableTTL})
		if err := replace(g, k, "replaced", store.SetOptions{TTL: time.Hour}); err != nil {
			t.Fatalf("Replace: %v", err)
		}
		waitGone(t, g.s, k.key)
	})

	t.Run("keeps the group", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		s1, s2, r := sess(t), sess(t), remb(t)
		g.set(s1, store.SetOptions{})
		g.rotate(s1, s2)
		g.partner(r, s2)
		for _, x := range []rec{s1, s2, r} {
			if err := replace(g, x, "replaced", store.SetOptions{}); err != nil {
				t.Fatalf("Replace(%s): %v", x.name, err)
			}
		}
		g.del(s1)
		g.wantGone("the group of replaced records after a Delete of one", s1, s2, r)
	})

	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		k := sess(t)
		wantNotFound(t, "Replace of a missing record", replace(g, k, "v", store.SetOptions{TTL: time.Hour}))
		g.wantGone("after a Replace of a missing record", k)
		g.set(k, store.SetOptions{})
		g.del(k)
		wantNotFound(t, "Replace of a deleted record", replace(g, k, "v", store.SetOptions{TTL: time.Hour}))
		g.wantGone("after a Replace of a deleted record", k)
	})

	t.Run("never undoes a concurrent Delete", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		for range 30 {
			k := sess(t)
			g.set(k, store.SetOptions{})
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				for range 5 {
					if err := replace(g, k, "v", store.SetOptions{}); err != nil && !errors.Is(err, session.ErrNotFound) {
						t.Errorf("Replace: %v", err)
					}
				}
			}()
			go func() {
				defer wg.Done()
				if err := g.s.Delete(ctx, k.name, k.key, store.DeleteOptions{}); err != nil {
					t.Errorf("Delete: %v", err)
				}
			}()
			wg.Wait()
			if g.live(k) {
				t.Fatal("a Replace brought a deleted record back")
			}
		}
	})

	t.Run("a record without its expiry gets the ttl", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		k := sess(t)
		g.writeReference(k)
		if err := replace(g, k, "v", store.SetOptions{}); !errors.Is(err, session.ErrStore) {
			t.Fatalf("Replace of a record without expiry, without TTL: %v, want ErrStore", err)
		}
		if err := replace(g, k, "v", store.SetOptions{TTL: time.Second}); err != nil {
			t.Fatalf("Replace of a record without expiry: %v", err)
		}
		waitGone(t, g.s, k.key)
	})
}
