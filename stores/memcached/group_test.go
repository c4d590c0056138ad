package memcachedstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

// rec names a record: a cookie name and a storage key.
type rec struct{ name, key string }

func sess(t testing.TB) rec { return rec{"session", key(t)} }
func remb(t testing.TB) rec { return rec{"remember", key(t)} }

// groupCase is a store on the test server, one subject's metadata, and
// helpers that fail the test with what they were doing.
type groupCase struct {
	t  *testing.T
	s  *memcachedstore.Store
	c  *memcache.Client
	md *store.Metadata
}

func newGroupCase(t *testing.T) *groupCase {
	s, c := newStore(t)
	return &groupCase{t: t, s: s, c: c, md: &store.Metadata{Audiences: []string{"YXBw"}, Subjects: []string{key(t)}}}
}

// opts fills in what every save of the tests passes: an hour's TTL, the
// case's metadata, now.
func (g *groupCase) opts(o store.SetOptions) store.SetOptions {
	if o.TTL == 0 {
		o.TTL = time.Hour
	}
	if o.Metadata == nil {
		o.Metadata = g.md
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

func (g *groupCase) trySet(r rec, o store.SetOptions) error {
	return g.s.Set(context.Background(), r.name, r.key, []byte("value of "+r.key), g.opts(o))
}

func (g *groupCase) set(r rec, o store.SetOptions) {
	g.t.Helper()
	if err := g.trySet(r, o); err != nil {
		g.t.Fatalf("Set(%s, %+v): %v", r.name, o, err)
	}
}

// rotate saves next as the rotation of old, with a stale TTL of an hour:
// stale records stay readable throughout a test.
func (g *groupCase) rotate(old, next rec) {
	g.t.Helper()
	g.set(next, store.SetOptions{OldKey: old.key, StaleTTL: time.Hour})
}

// partner saves r as the partner of p.
func (g *groupCase) partner(r, p rec) {
	g.t.Helper()
	g.set(r, store.SetOptions{Partner: store.RecordKey{Name: p.name, Key: p.key}})
}

func (g *groupCase) tryDel(r rec) error {
	return g.s.Delete(context.Background(), r.name, r.key, store.DeleteOptions{Now: time.Now(), Metadata: g.md})
}

func (g *groupCase) del(r rec) {
	g.t.Helper()
	if err := g.tryDel(r); err != nil {
		g.t.Fatalf("Delete(%s): %v", r.name, err)
	}
}

func (g *groupCase) live(r rec) bool {
	g.t.Helper()
	_, err := g.s.Get(context.Background(), r.name, r.key, store.GetOptions{})
	if err != nil && !errors.Is(err, session.ErrNotFound) {
		g.t.Fatalf("Get(%s): %v", r.name, err)
	}
	return err == nil
}

func (g *groupCase) listed(r rec) bool {
	g.t.Helper()
	entries, err := g.s.Sessions(context.Background(), r.name, g.md.Audiences[0], g.md.Subjects[0], time.Now())
	if err != nil {
		g.t.Fatalf("Sessions(%s): %v", r.name, err)
	}
	return hasKey(entries, r.key)
}

// wantGone checks that the records are missing and not listed.
func (g *groupCase) wantGone(why string, rs ...rec) {
	g.t.Helper()
	for i, r := range rs {
		if g.live(r) {
			g.t.Errorf("%s: record %d (%s) still readable", why, i, r.name)
		}
		if g.listed(r) {
			g.t.Errorf("%s: record %d (%s) still listed by Sessions", why, i, r.name)
		}
		if _, err := g.c.Get(memcachedstore.PointerKey(g.s, r.name, r.key)); !errors.Is(err, memcache.ErrCacheMiss) {
			g.t.Errorf("%s: group pointer of record %d (%s) left behind: %v", why, i, r.name, err)
		}
	}
}

// wantLive checks that the records are readable.
func (g *groupCase) wantLive(why string, rs ...rec) {
	g.t.Helper()
	for i, r := range rs {
		if !g.live(r) {
			g.t.Errorf("%s: record %d (%s) missing", why, i, r.name)
		}
	}
}

// writeReference writes r as the reference library does: flags 0, no
// group items.
func (g *groupCase) writeReference(r rec) {
	g.t.Helper()
	err := g.c.Set(&memcache.Item{Key: g.s.Key(r.name, r.key), Value: []byte("value of " + r.key), Expiration: 3600})
	if err != nil {
		g.t.Fatal(err)
	}
}

// wantNotFound checks that err reports a missing record, not a failure.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrStore) {
		t.Fatalf("%s: %v, want an error matching session.ErrNotFound and not session.ErrStore", what, err)
	}
}

func TestOldKeyMissing(t *testing.T) {
	t.Parallel()
	t.Run("never set", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		missing, next := sess(t), sess(t)
		wantNotFound(t, "Set with a missing OldKey", g.trySet(next, store.SetOptions{OldKey: missing.key}))
		g.wantGone("the record of a Set whose OldKey is missing", next)
		g.wantGone("the missing old record", missing)
	})
	t.Run("deleted", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		old, next := sess(t), sess(t)
		g.set(old, store.SetOptions{})
		g.del(old)
		wantNotFound(t, "Set with a deleted OldKey", g.trySet(next, store.SetOptions{OldKey: old.key}))
		g.wantGone("the record of a Set whose OldKey was deleted", next)
	})
	t.Run("stale ttl zero deletes the old record, not its group", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		s1, s2, s3 := sess(t), sess(t), sess(t)
		g.set(s1, store.SetOptions{})
		g.rotate(s1, s2)
		g.set(s3, store.SetOptions{OldKey: s2.key, StaleTTL: 0})
		if g.live(s2) {
			t.Error("the old record of a Set with StaleTTL 0 is still readable")
		}
		g.wantLive("the new record and the stale one before", s1, s3)
	})
}

func TestGroupDelete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// build saves records and returns the one to delete and those
		// that must go with it.
		build func(g *groupCase) (del rec, gone []rec)
	}{
		{"a single record", func(g *groupCase) (rec, []rec) {
			s1 := sess(g.t)
			g.set(s1, store.SetOptions{})
			return s1, nil
		}},
		{"chain, the newest", func(g *groupCase) (rec, []rec) {
			s1, s2, s3 := sess(g.t), sess(g.t), sess(g.t)
			g.set(s1, store.SetOptions{})
			g.rotate(s1, s2)
			g.rotate(s2, s3)
			return s3, []rec{s1, s2}
		}},
		{"chain, a stale member", func(g *groupCase) (rec, []rec) {
			s1, s2, s3 := sess(g.t), sess(g.t), sess(g.t)
			g.set(s1, store.SetOptions{})
			g.rotate(s1, s2)
			g.rotate(s2, s3)
			return s1, []rec{s2, s3}
		}},
		{"forks", func(g *groupCase) (rec, []rec) {
			s1, a, b := sess(g.t), sess(g.t), sess(g.t)
			g.set(s1, store.SetOptions{})
			g.rotate(s1, a)
			g.rotate(s1, b)
			return a, []rec{s1, b}
		}},
		{"a stale record already deleted (StaleTTL 0)", func(g *groupCase) (rec, []rec) {
			s1, s2 := sess(g.t), sess(g.t)
			g.set(s1, store.SetOptions{})
			g.set(s2, store.SetOptions{OldKey: s1.key, StaleTTL: 0})
			return s1, []rec{s2}
		}},
		{"partner, the session record", func(g *groupCase) (rec, []rec) {
			s, r := sess(g.t), remb(g.t)
			g.set(s, store.SetOptions{})
			g.partner(r, s)
			return s, []rec{r}
		}},
		{"partner, the remember record", func(g *groupCase) (rec, []rec) {
			s, r := sess(g.t), remb(g.t)
			g.set(s, store.SetOptions{})
			g.partner(r, s)
			return r, []rec{s}
		}},
		{"partner the other way round", func(g *groupCase) (rec, []rec) {
			s, r := sess(g.t), remb(g.t)
			g.set(r, store.SetOptions{})
			g.partner(s, r)
			return r, []rec{s}
		}},
		{"partner, then the session rotates", func(g *groupCase) (rec, []rec) {
			s1, r, s2 := sess(g.t), remb(g.t), sess(g.t)
			g.set(s1, store.SetOptions{})
			g.partner(r, s1)
			g.rotate(s1, s2)
			return r, []rec{s1, s2}
		}},
		{"both cookies rotate", func(g *groupCase) (rec, []rec) {
			s1, r1, s2, r2 := sess(g.t), remb(g.t), sess(g.t), remb(g.t)
			g.set(s1, store.SetOptions{})
			g.partner(r1, s1)
			g.rotate(s1, s2)
			g.set(r2, store.SetOptions{OldKey: r1.key, StaleTTL: time.Hour, Partner: store.RecordKey{Name: s2.name, Key: s2.key}})
			return s2, []rec{s1, r1, r2}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGroupCase(t)
			// A session of the same subject in a group of its own.
			o1, o2, or := sess(t), sess(t), remb(t)
			g.set(o1, store.SetOptions{})
			g.rotate(o1, o2)
			g.partner(or, o2)

			del, gone := tt.build(g)
			g.wantLive("before Delete", gone...)
			var groups []string
			for _, r := range append(gone, del) {
				if it, err := g.c.Get(memcachedstore.PointerKey(g.s, r.name, r.key)); err == nil {
					groups = append(groups, memcachedstore.GroupKey(g.s, string(it.Value)))
				}
			}
			g.del(del)
			for _, gk := range groups {
				if _, err := g.c.Get(gk); !errors.Is(err, memcache.ErrCacheMiss) {
					t.Errorf("group list %s left behind: %v", gk, err)
				}
			}
			g.wantGone("the deleted record", del)
			g.wantGone("the rest of its group", gone...)
			g.wantLive("another group of the same subject", o1, o2, or)
			for _, r := range []rec{o2, or} {
				if !g.listed(r) {
					t.Errorf("record of another group (%s) no longer listed", r.name)
				}
			}
			// Deleting again, or any member, is no error.
			g.del(del)
			for _, r := range gone {
				g.del(r)
			}
		})
	}
}

// TestDeleteAgain cuts a Delete short, as a lost connection would, after
// it deleted the record and some members: a second Delete finds the rest.
func TestDeleteAgain(t *testing.T) {
	t.Parallel()
	g := newGroupCase(t)
	s1, s2, s3, r := sess(t), sess(t), sess(t), remb(t)
	g.set(s1, store.SetOptions{})
	g.rotate(s1, s2)
	g.partner(r, s2)
	g.rotate(s2, s3)
	for _, x := range []rec{s3, s1} {
		if err := g.c.Delete(g.s.Key(x.name, x.key)); err != nil {
			t.Fatal(err)
		}
	}
	g.wantLive("the members the first Delete did not reach", s2, r)
	g.del(s3)
	g.wantGone("after a second Delete", s1, s2, s3, r)
}

// TestGroupBound saves a session many times within its stale TTL: the
// group keeps MaxMembers records, deletes the others early (stale records
// expiring in the same second go in no particular order), and still ends
// whole.
func TestGroupBound(t *testing.T) {
	t.Parallel()
	g := newGroupCase(t)
	chain := []rec{sess(t)}
	g.set(chain[0], store.SetOptions{})
	for range memcachedstore.MaxMembers + 5 {
		next := sess(t)
		g.rotate(chain[len(chain)-1], next)
		chain = append(chain, next)
	}
	newest := chain[len(chain)-1]
	g.wantLive("the newest record of a long chain", newest)
	readable := 0
	for _, r := range chain {
		if g.live(r) {
			readable++
		}
	}
	if readable != memcachedstore.MaxMembers {
		t.Errorf("%d records of a chain of %d readable, want %d", readable, len(chain), memcachedstore.MaxMembers)
	}
	g.del(newest)
	g.wantGone("a long chain after Delete of its newest record", chain...)
}

func TestPartner(t *testing.T) {
	t.Parallel()
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		missing, r := sess(t), remb(t)
		wantNotFound(t, "Set with a missing Partner", g.trySet(r, store.SetOptions{Partner: store.RecordKey{Name: missing.name, Key: missing.key}}))
		g.wantGone("the record of a Set whose Partner is missing", r)
	})
	t.Run("wins over the old record", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		old, p, next := sess(t), remb(t), sess(t)
		g.set(old, store.SetOptions{})
		g.set(p, store.SetOptions{})
		g.set(next, store.SetOptions{OldKey: old.key, StaleTTL: time.Hour, Partner: store.RecordKey{Name: p.name, Key: p.key}})
		g.del(old)
		g.wantLive("the new record after a Delete of its old record, when it joined its partner's group", next, p)
		g.del(p)
		g.wantGone("the new record after a Delete of its partner", next)
	})
	t.Run("old record missing, partner there", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		p, next := remb(t), sess(t)
		g.set(p, store.SetOptions{})
		wantNotFound(t, "Set with a missing OldKey and a Partner", g.trySet(next, store.SetOptions{OldKey: key(t), Partner: store.RecordKey{Name: p.name, Key: p.key}}))
		g.wantGone("the record of that Set", next)
		g.wantLive("the partner", p)
	})
}

// TestReferenceRecords uses records as the reference library writes them
// (no expiry in the flags, no group items): each is a group of its own,
// which a rotation or a partner joins.
func TestReferenceRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		build func(g *groupCase, ref rec) (del rec, gone []rec)
	}{
		{"deleted", func(g *groupCase, ref rec) (rec, []rec) { return ref, nil }},
		{"rotated, then the new record deleted", func(g *groupCase, ref rec) (rec, []rec) {
			next := sess(g.t)
			g.rotate(ref, next)
			return next, []rec{ref}
		}},
		{"rotated, then the reference record deleted", func(g *groupCase, ref rec) (rec, []rec) {
			next, after := sess(g.t), sess(g.t)
			g.rotate(ref, next)
			g.rotate(next, after)
			return ref, []rec{next, after}
		}},
		{"partner of a new record", func(g *groupCase, ref rec) (rec, []rec) {
			r := remb(g.t)
			g.partner(r, ref)
			return ref, []rec{r}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGroupCase(t)
			ref := sess(t)
			g.writeReference(ref)
			del, gone := tt.build(g, ref)
			g.del(del)
			g.wantGone("after Delete", append(gone, del)...)
		})
	}
}

// TestGroupRaces runs saves that join a group at the same time as a Delete
// ends it: whichever wins, no record of the group is left.
func TestGroupRaces(t *testing.T) {
	t.Parallel()
	const rounds = 25
	tests := []struct {
		name string
		// prepare saves the record that the save joins and the one
		// deleted; join saves next into its group.
		prepare func(g *groupCase) (joined, deleted rec)
		join    func(g *groupCase, joined, next rec) error
	}{
		{"rotation of a new record, Delete of it", func(g *groupCase) (rec, rec) {
			a := sess(g.t)
			g.set(a, store.SetOptions{})
			return a, a
		}, rotateInto},
		{"rotation of a grouped record, Delete of it", func(g *groupCase) (rec, rec) {
			a0, a := sess(g.t), sess(g.t)
			g.set(a0, store.SetOptions{})
			g.rotate(a0, a)
			return a, a
		}, rotateInto},
		{"rotation of a grouped record, Delete of another member", func(g *groupCase) (rec, rec) {
			a0, a := sess(g.t), sess(g.t)
			g.set(a0, store.SetOptions{})
			g.rotate(a0, a)
			return a, a0
		}, rotateInto},
		{"partner of a new record, Delete of it", func(g *groupCase) (rec, rec) {
			a := sess(g.t)
			g.set(a, store.SetOptions{})
			return a, a
		}, func(g *groupCase, joined, next rec) error {
			return g.trySet(rec{"remember", next.key}, store.SetOptions{Partner: store.RecordKey{Name: joined.name, Key: joined.key}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGroupCase(t)
			for range rounds {
				joined, deleted := tt.prepare(g)
				next := sess(t)
				var joinErr, delErr error
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); joinErr = tt.join(g, joined, next) }()
				go func() { defer wg.Done(); delErr = g.tryDel(deleted) }()
				wg.Wait()
				if joinErr != nil && !errors.Is(joinErr, session.ErrNotFound) {
					t.Fatalf("join: %v", joinErr)
				}
				if delErr != nil {
					t.Fatalf("Delete: %v", delErr)
				}
				g.wantGone("after a join and a Delete at the same time", joined, deleted, next, rec{"remember", next.key})
			}
		})
	}

	t.Run("two rotations of a new record", func(t *testing.T) {
		t.Parallel()
		g := newGroupCase(t)
		for range rounds {
			a, b, c := sess(t), sess(t), sess(t)
			g.set(a, store.SetOptions{})
			var wg sync.WaitGroup
			wg.Add(2)
			errs := make([]error, 2)
			for i, next := range []rec{b, c} {
				go func() { defer wg.Done(); errs[i] = rotateInto(g, a, next) }()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("rotation: %v", err)
			}
			g.del(b)
			g.wantGone("two rotations of one record, one deleted", a, b, c)
		}
	})
}

func rotateInto(g *groupCase, joined, next rec) error {
	return g.trySet(next, store.SetOptions{OldKey: joined.key, StaleTTL: time.Hour})
}
