package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// login saves the session record of a capped login at t0 + ttl.
func login(s *sqlstore.Store, key string, ttl time.Duration, md *store.Metadata, limit int, refuse bool) error {
	return trySet(s, "session", key, "v", store.SetOptions{TTL: ttl, Metadata: md, Seen: t0, Limit: limit, LimitRefuse: refuse})
}

// TestLimit checks the cap of a login's save on every database: what it
// counts (browser sessions under the cookie name, live, of the pair), what
// it ends (the groups that expire soonest, whole), that a refusal stores
// nothing, and the lock rows. Many logins of one subject at once, through
// core, are the conformance rule limit_concurrent (TestConformance).
func TestLimit(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		ctx := context.Background()
		t.Run("ends the soonest groups", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := subject("alice")
			if err := login(s, "a", time.Hour, md, 2, false); err != nil {
				t.Fatal(err)
			}
			set(t, s, "remember", "ra", "v", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "a"}, Metadata: md, Seen: t0})
			// The remember record is not counted: b ends nothing.
			if err := login(s, "b", 3*time.Hour, md, 2, false); err != nil {
				t.Fatal(err)
			}
			wantGet(t, s, "session", "a", t0, "v")
			// A rotation leaves the replaced record listed for its stale
			// TTL: a's browser still counts once.
			set(t, s, "session", "a2", "v", store.SetOptions{TTL: 2 * time.Hour, OldKey: "a", StaleTTL: time.Minute, Metadata: md, Seen: t0})
			if err := login(s, "c", 4*time.Hour, md, 3, false); err != nil {
				t.Fatal(err)
			}
			if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"a", "a2", "b", "c"}) {
				t.Fatalf("Sessions after a login under a cap of 3 = %v; want every record (two browsers before it)", got)
			}
			// Another subject's sessions are not counted.
			if err := login(s, "x", time.Hour, subject("bob"), 1, false); err != nil {
				t.Fatal(err)
			}
			// Cap 2: a's browser (expiring at 2h) ends, b's (3h) stays.
			if err := login(s, "d", 5*time.Hour, md, 2, false); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"a", "a2"} {
				wantGet(t, s, "session", k, t0, "")
			}
			wantGet(t, s, "remember", "ra", t0, "")
			for _, k := range []string{"c", "d", "x"} {
				wantGet(t, s, "session", k, t0, "v")
			}
			wantGet(t, s, "session", "b", t0, "")
			if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"c", "d"}) {
				t.Fatalf("Sessions = %v; want c and d", got)
			}
			if n := countRows(t, db, table+"_groups"); n != 3 {
				t.Fatalf("%d group info rows; want 3 (c, d, x): the ended groups' went with them", n)
			}
			if n := countRows(t, db, table+"_limits"); n != 2 {
				t.Fatalf("%d lock rows; want 2 (alice, bob)", n)
			}
			// Cleanup deletes the lock rows once the logins they last
			// locked for have expired.
			if _, err := s.Cleanup(ctx, t0.Add(90*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if n := countRows(t, db, table+"_limits"); n != 1 {
				t.Fatalf("%d lock rows after bob's expired; want alice's", n)
			}
		})
		t.Run("expired records are not counted", func(t *testing.T) {
			s, _ := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := subject("alice")
			if err := login(s, "a", time.Second, md, 1, true); err != nil {
				t.Fatal(err)
			}
			later := t0.Add(2 * time.Second)
			err := s.Set(ctx, "session", "b", []byte("v"), store.SetOptions{TTL: time.Hour, Now: later, Metadata: md, Limit: 1, LimitRefuse: true})
			if err != nil {
				t.Fatalf("a login with a cap of 1 after the other session expired: %v", err)
			}
		})
		t.Run("refuse stores nothing", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := subject("alice")
			for _, k := range []string{"a", "b"} {
				if err := login(s, k, time.Hour, md, 2, true); err != nil {
					t.Fatal(err)
				}
			}
			err := login(s, "c", time.Hour, md, 2, true)
			if !errors.Is(err, store.ErrSessionLimit) || !errors.Is(err, session.ErrSessionLimit) {
				t.Fatalf("a third login with a cap of 2 = %v; want an error matching ErrSessionLimit", err)
			}
			wantGet(t, s, "session", "c", t0, "")
			if n, m, g := countRows(t, db, table), countRows(t, db, table+"_meta"), countRows(t, db, table+"_groups"); n != 2 || m != 2 || g != 2 {
				t.Fatalf("%d records, %d index rows, %d group info rows after a refused login; want 2 of each", n, m, g)
			}
			if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("Sessions = %v; want a and b", got)
			}
		})
		t.Run("a cap that is not a login's", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "old", "v", store.SetOptions{})
			two := &store.Metadata{Audiences: []string{"a1", "a2"}, Subjects: []string{"alice", "alice"}}
			for name, opts := range map[string]store.SetOptions{
				"no metadata": {Limit: 1},
				"two pairs":   {Limit: 1, Metadata: two},
				"old key":     {Limit: 1, Metadata: subject("alice"), OldKey: "old", StaleTTL: time.Second},
				"partner":     {Limit: 1, Metadata: subject("alice"), Partner: store.RecordKey{Name: "session", Key: "old"}},
			} {
				err := trySet(s, "session", "new", "v", opts)
				if err == nil || errors.Is(err, store.ErrSessionLimit) {
					t.Errorf("%s: Set with Limit = %v; want an error that is not ErrSessionLimit", name, err)
				}
			}
			wantGet(t, s, "session", "new", t0, "")
		})
		t.Run("a store that never capped leaves the lock table alone", func(t *testing.T) {
			s, table := newStore(t, db, d)
			if _, err := db.Exec("DROP TABLE " + table + "_limits"); err != nil {
				t.Fatal(err)
			}
			set(t, s, "session", "a", "v", store.SetOptions{Metadata: subject("alice"), Seen: t0})
			if _, err := s.Cleanup(ctx, t0); err != nil {
				t.Fatalf("Cleanup without the lock table: %v", err)
			}
		})
	})
}
