package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// trySet is set without the t.Fatal: it returns Set's error.
func trySet(s session.Store, name, key, value string, opts store.SetOptions) error {
	if opts.Now.IsZero() {
		opts.Now = t0
	}
	if opts.TTL == 0 {
		opts.TTL = time.Hour
	}
	return s.Set(context.Background(), name, key, []byte(value), opts)
}

// wantNotFound checks that err matches session.ErrNotFound.
func wantNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("%s = %v; want an error matching session.ErrNotFound", what, err)
	}
}

func del(t *testing.T, s session.Store, name, key string) {
	t.Helper()
	if err := s.Delete(context.Background(), name, key, store.DeleteOptions{Now: t0}); err != nil {
		t.Fatalf("Delete(%s, %s): %v", name, key, err)
	}
}

// listed returns the keys of name in the index of md's first pair at now.
func listed(t *testing.T, s *sqlstore.Store, name string, md *store.Metadata, now time.Time) []string {
	t.Helper()
	entries, err := s.Sessions(context.Background(), name, md.Audiences[0], md.Subjects[0], now)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	slices.Sort(keys)
	return keys
}

func subject(sub string) *store.Metadata {
	return &store.Metadata{Audiences: []string{"aud"}, Subjects: []string{sub}}
}

// insertLegacy writes a record the way lua-resty-session writes it: no
// grp column in the statement, so the group is NULL (as in the rows of a
// table from before record groups).
func insertLegacy(t *testing.T, db *sql.DB, d sqlstore.Dialect, table, name, key, value string, exp time.Time) {
	t.Helper()
	q := "INSERT INTO " + table + " (sid, name, data, exp) VALUES (" + placeholders(d, 3) + ", " + at(d, 4) + ")"
	if _, err := db.Exec(q, key, name, value, exp.Unix()); err != nil {
		t.Fatalf("insert %s %s: %v", name, key, err)
	}
}

// TestGroups checks the record groups of the Store contract on every
// database: a save that replaces or pairs with a record that is gone
// stores nothing, and Delete ends every record of a browser session.
func TestGroups(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		const stale = 10 * time.Second
		for _, staleTTL := range []time.Duration{stale, 0} {
			t.Run(fmt.Sprintf("old key missing, stale ttl %v", staleTTL), func(t *testing.T) {
				s, table := newStore(t, db, d)
				md := subject("alice")
				err := trySet(s, "session", "new", "v", store.SetOptions{OldKey: "never-set", StaleTTL: staleTTL, Metadata: md})
				wantNotFound(t, err, "Set with a missing OldKey")
				wantGet(t, s, "session", "new", t0, "")
				if n, m := countRows(t, db, table), countRows(t, db, table+"_meta"); n != 0 || m != 0 {
					t.Fatalf("%d records and %d index rows after the refused Set; want none", n, m)
				}
			})
			t.Run(fmt.Sprintf("old key expired, stale ttl %v", staleTTL), func(t *testing.T) {
				s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
				md := subject("alice")
				set(t, s, "session", "old", "o", store.SetOptions{TTL: time.Second, Metadata: md})
				at := t0.Add(2 * time.Second) // a record is live through its expiry second
				err := trySet(s, "session", "new", "v", store.SetOptions{Now: at, OldKey: "old", StaleTTL: staleTTL, Metadata: md})
				wantNotFound(t, err, "Set with an expired OldKey")
				wantGet(t, s, "session", "new", at, "")
				if n, m := countRows(t, db, table), countRows(t, db, table+"_meta"); n != 1 || m != 1 {
					t.Fatalf("%d records and %d index rows after the refused Set; want only the expired record's", n, m)
				}
				if got := listed(t, s, "session", md, at); len(got) != 0 {
					t.Fatalf("Sessions = %v; want none", got)
				}
			})
		}
		t.Run("delete the newest of a chain", func(t *testing.T) {
			s, table := newStore(t, db, d)
			md := subject("alice")
			set(t, s, "session", "other", "x", store.SetOptions{Metadata: md})
			set(t, s, "session", "s1", "1", store.SetOptions{Metadata: md})
			set(t, s, "session", "s2", "2", store.SetOptions{Metadata: md, OldKey: "s1", StaleTTL: stale})
			set(t, s, "session", "s3", "3", store.SetOptions{Metadata: md, OldKey: "s2", StaleTTL: stale})
			wantGet(t, s, "session", "s1", t0, "1") // within the stale TTL
			del(t, s, "session", "s3")
			for _, k := range []string{"s1", "s2", "s3"} {
				wantGet(t, s, "session", k, t0, "")
			}
			wantGet(t, s, "session", "other", t0, "x")
			if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"other"}) {
				t.Fatalf("Sessions = %v; want only the other session", got)
			}
			if n, m := countRows(t, db, table), countRows(t, db, table+"_meta"); n != 1 || m != 1 {
				t.Fatalf("%d records and %d index rows left; want the other session's only", n, m)
			}
		})
		t.Run("delete a stale member", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "s1", "1", store.SetOptions{})
			set(t, s, "session", "s2", "2", store.SetOptions{OldKey: "s1", StaleTTL: stale})
			set(t, s, "session", "s3", "3", store.SetOptions{OldKey: "s2", StaleTTL: stale})
			del(t, s, "session", "s1")
			wantGet(t, s, "session", "s2", t0, "")
			wantGet(t, s, "session", "s3", t0, "")
		})
		t.Run("delete an expired member", func(t *testing.T) {
			s, _ := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			set(t, s, "session", "s1", "1", store.SetOptions{})
			set(t, s, "session", "s2", "2", store.SetOptions{OldKey: "s1", StaleTTL: stale})
			later := t0.Add(time.Minute) // s1 expired, its row not cleaned up yet
			wantGet(t, s, "session", "s1", later, "")
			if err := s.Delete(context.Background(), "session", "s1", store.DeleteOptions{Now: later}); err != nil {
				t.Fatal(err)
			}
			wantGet(t, s, "session", "s2", later, "")
		})
		t.Run("forks die together", func(t *testing.T) {
			s, table := newStore(t, db, d)
			set(t, s, "session", "s1", "1", store.SetOptions{})
			set(t, s, "session", "a", "a", store.SetOptions{OldKey: "s1", StaleTTL: stale})
			set(t, s, "session", "b", "b", store.SetOptions{OldKey: "s1", StaleTTL: stale}) // a concurrent request's save
			wantGet(t, s, "session", "a", t0, "a")
			wantGet(t, s, "session", "b", t0, "b")
			del(t, s, "session", "a")
			for _, k := range []string{"s1", "a", "b"} {
				wantGet(t, s, "session", k, t0, "")
			}
			if n := countRows(t, db, table); n != 0 {
				t.Fatalf("%d records left; want none", n)
			}
		})
		t.Run("partner", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			// Deleting the session record ends the remember record...
			set(t, s, "session", "s", "s", store.SetOptions{})
			set(t, s, "remember", "r", "r", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "s"}})
			del(t, s, "session", "s")
			wantGet(t, s, "remember", "r", t0, "")
			// ...and the other way round.
			set(t, s, "session", "s", "s", store.SetOptions{})
			set(t, s, "remember", "r", "r", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "s"}})
			del(t, s, "remember", "r")
			wantGet(t, s, "session", "s", t0, "")
			// A partner of a rotated record, and a rotated partner, are in
			// the group too.
			set(t, s, "session", "s1", "1", store.SetOptions{})
			set(t, s, "session", "s2", "2", store.SetOptions{OldKey: "s1", StaleTTL: stale})
			set(t, s, "remember", "r1", "r1", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "s2"}})
			set(t, s, "remember", "r2", "r2", store.SetOptions{OldKey: "r1", StaleTTL: stale})
			set(t, s, "session", "s3", "3", store.SetOptions{Partner: store.RecordKey{Name: "remember", Key: "r2"}})
			del(t, s, "session", "s1")
			for _, k := range []string{"s2", "s3"} {
				wantGet(t, s, "session", k, t0, "")
			}
			for _, k := range []string{"r1", "r2"} {
				wantGet(t, s, "remember", k, t0, "")
			}
		})
		t.Run("partner missing", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := subject("alice")
			set(t, s, "session", "short", "s", store.SetOptions{TTL: time.Second})
			before := countRows(t, db, table)
			for _, p := range []struct {
				why     string
				partner store.RecordKey
				now     time.Time
			}{
				{"never set", store.RecordKey{Name: "session", Key: "nope"}, t0},
				{"expired", store.RecordKey{Name: "session", Key: "short"}, t0.Add(2 * time.Second)},
				{"under another name", store.RecordKey{Name: "remember", Key: "short"}, t0},
			} {
				err := trySet(s, "remember", "r", "r", store.SetOptions{Now: p.now, Partner: p.partner, Metadata: md})
				wantNotFound(t, err, "Set with a partner "+p.why)
				wantGet(t, s, "remember", "r", t0, "")
				if n, m := countRows(t, db, table), countRows(t, db, table+"_meta"); n != before || m != 0 {
					t.Fatalf("%d records and %d index rows after a Set with a partner %s; want %d and 0", n, m, p.why, before)
				}
			}
		})
		t.Run("partner wins over old key", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "s", "s", store.SetOptions{})
			set(t, s, "remember", "r1", "r1", store.SetOptions{})
			set(t, s, "remember", "r2", "r2", store.SetOptions{OldKey: "r1", StaleTTL: stale,
				Partner: store.RecordKey{Name: "session", Key: "s"}})
			del(t, s, "remember", "r1") // its group: r1 alone
			wantGet(t, s, "session", "s", t0, "s")
			wantGet(t, s, "remember", "r2", t0, "r2")
			del(t, s, "session", "s")
			wantGet(t, s, "remember", "r2", t0, "")
		})
		t.Run("stale ttl zero deletes only the old record", func(t *testing.T) {
			s, table := newStore(t, db, d)
			md := subject("alice")
			set(t, s, "session", "s1", "1", store.SetOptions{Metadata: md})
			set(t, s, "remember", "r", "r", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "s1"}})
			set(t, s, "session", "s2", "2", store.SetOptions{OldKey: "s1", StaleTTL: 0, Metadata: md})
			wantGet(t, s, "session", "s1", t0, "")
			wantGet(t, s, "remember", "r", t0, "r")
			if n, m := countRows(t, db, table), countRows(t, db, table+"_meta"); n != 2 || m != 1 {
				t.Fatalf("%d records and %d index rows; want 2 and 1 (s1 and its index row deleted)", n, m)
			}
			del(t, s, "session", "s2")
			wantGet(t, s, "remember", "r", t0, "")
		})
		t.Run("old key equal to key", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "s", "1", store.SetOptions{})
			set(t, s, "remember", "r", "r", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "s"}})
			set(t, s, "session", "s", "2", store.SetOptions{OldKey: "s", StaleTTL: stale})
			wantGet(t, s, "session", "s", t0.Add(time.Minute), "2") // rewritten, not shortened
			del(t, s, "remember", "r")
			wantGet(t, s, "session", "s", t0, "")
		})
		t.Run("rewriting a key keeps its group", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "s1", "1", store.SetOptions{})
			set(t, s, "session", "s2", "2", store.SetOptions{OldKey: "s1", StaleTTL: stale})
			set(t, s, "session", "s2", "2b", store.SetOptions{})
			del(t, s, "session", "s1")
			wantGet(t, s, "session", "s2", t0, "")
		})
		t.Run("replace", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			md, other := subject("alice"), subject("bob")
			set(t, s, "session", "s1", "1", store.SetOptions{Metadata: md})
			set(t, s, "session", "s2", "2", store.SetOptions{TTL: time.Hour, OldKey: "s1", StaleTTL: stale, Metadata: md})
			err := trySet(s, "session", "s2", "info", store.SetOptions{Replace: true, Now: t0.Add(time.Minute),
				TTL: 5 * time.Hour, OldKey: "nope", Partner: store.RecordKey{Name: "x", Key: "y"}, Metadata: other})
			if err != nil {
				t.Fatalf("Replace of a live record: %v", err)
			}
			wantGet(t, s, "session", "s2", t0, "info")
			wantGet(t, s, "session", "s2", t0.Add(time.Hour), "info")
			wantGet(t, s, "session", "s2", t0.Add(time.Hour+time.Second), "") // the expiry it had
			if err := trySet(s, "session", "s2", "info", store.SetOptions{Replace: true}); err != nil {
				t.Fatalf("Replace with the same value: %v", err)
			}
			entries, err := s.Sessions(context.Background(), "session", "aud", "alice", t0) // s1 too, within its stale TTL
			if err != nil || len(entries) != 2 || entries[1].Key != "s2" || !entries[1].Expires.Equal(t0.Add(time.Hour)) {
				t.Fatalf("Sessions after Replace = %v, %v; want s1, then s2 expiring at %v", entries, err, t0.Add(time.Hour))
			}
			if got := listed(t, s, "session", other, t0); len(got) != 0 {
				t.Fatalf("Replace added index entries %v; its Metadata must be ignored", got)
			}
			del(t, s, "session", "s1")
			wantGet(t, s, "session", "s2", t0, "") // still in s1's group
		})
		t.Run("replace missing", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			wantNotFound(t, trySet(s, "session", "never", "v", store.SetOptions{Replace: true}), "Replace of a key never set")
			wantGet(t, s, "session", "never", t0, "")
			set(t, s, "session", "short", "old value", store.SetOptions{TTL: time.Second})
			err := trySet(s, "session", "short", "new value", store.SetOptions{Replace: true, Now: t0.Add(2 * time.Second)})
			wantNotFound(t, err, "Replace of an expired record")
			var data string
			if err := db.QueryRow("SELECT data FROM " + table).Scan(&data); err != nil || data != "old value" {
				t.Fatalf("the expired row holds %q, %v; want it untouched", data, err)
			}
			if n := countRows(t, db, table); n != 1 {
				t.Fatalf("%d records; want the expired one only", n)
			}
		})
		t.Run("records without a group", func(t *testing.T) {
			s, table := newStore(t, db, d)
			for _, k := range []string{"l1", "l2", "l3", "l4"} {
				insertLegacy(t, db, d, table, "session", k, "legacy "+k, t0.Add(time.Hour))
			}
			wantGet(t, s, "session", "l1", t0, "legacy l1")
			// A NULL group is a group of its own, not one big group.
			del(t, s, "session", "l1")
			wantGet(t, s, "session", "l1", t0, "")
			wantGet(t, s, "session", "l2", t0, "legacy l2")
			// It can be rotated, and paired with.
			set(t, s, "session", "n2", "n2", store.SetOptions{OldKey: "l2", StaleTTL: stale})
			set(t, s, "remember", "r3", "r3", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "l3"}})
			set(t, s, "session", "n4", "n4", store.SetOptions{OldKey: "l4", StaleTTL: 0})
			del(t, s, "session", "n2")
			wantGet(t, s, "session", "l2", t0, "")
			del(t, s, "session", "l3")
			wantGet(t, s, "remember", "r3", t0, "")
			wantGet(t, s, "session", "l4", t0, "")
			wantGet(t, s, "session", "n4", t0, "n4")
			del(t, s, "session", "n4")
			if n := countRows(t, db, table); n != 0 {
				t.Fatalf("%d records left; want none", n)
			}
		})
	})
}

// TestDeleteRacesSaves deletes a session while concurrent requests keep
// saving it, each rotating a record of the session (the newest or an older
// one, so the session forks). Delete and each save must be one after the
// other: a save that starts after Delete returned fails with ErrNotFound,
// and no record of the session opens afterwards, whichever saves won.
func TestDeleteRacesSaves(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
		md := subject("alice")
		set(t, s, "session", "k0", "v", store.SetOptions{Metadata: md})

		const writers, saves, deleteAfter = 4, 25, 12
		var (
			mu      sync.Mutex
			keys    = []string{"k0"}
			ready   = make(chan struct{})
			deleted atomic.Bool
			wg      sync.WaitGroup
		)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range saves {
					mu.Lock()
					old := keys[rand.IntN(len(keys))]
					mu.Unlock()
					key := fmt.Sprintf("w%d-%d", w, i)
					after := deleted.Load()
					err := trySet(s, "session", key, "v", store.SetOptions{OldKey: old, StaleTTL: 10 * time.Second, Metadata: md})
					switch {
					case err == nil && after:
						t.Errorf("a save that started after Delete returned succeeded (%s from %s)", key, old)
					case err != nil && !errors.Is(err, session.ErrNotFound):
						t.Errorf("save %s from %s: %v; want success or ErrNotFound", key, old, err)
					case err == nil:
						mu.Lock()
						keys = append(keys, key)
						if len(keys) == deleteAfter {
							close(ready)
						}
						mu.Unlock()
					}
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-ready:
		case <-done:
			t.Fatalf("the writers saved fewer than %d records", deleteAfter)
		}
		mu.Lock()
		victim := keys[rand.IntN(len(keys))]
		mu.Unlock()
		if err := s.Delete(context.Background(), "session", victim, store.DeleteOptions{Now: t0}); err != nil {
			t.Fatalf("Delete(%s) during saves: %v", victim, err)
		}
		deleted.Store(true)
		<-done

		for _, k := range keys {
			if _, err := s.Get(context.Background(), "session", k, store.GetOptions{Now: t0}); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("record %s of the deleted session: Get = %v; want ErrNotFound", k, err)
			}
		}
		if n, m := countRows(t, db, table), countRows(t, db, table+"_meta"); n != 0 || m != 0 {
			t.Errorf("%d records and %d index rows left of %d saved; want none", n, m, len(keys))
		}
		t.Logf("%d records saved, deleted through %s", len(keys), victim)
	})
}
