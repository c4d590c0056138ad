package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// groupInfo reads the group info of a record at now.
func groupInfo(t *testing.T, s *sqlstore.Store, name, key string, now time.Time) store.GroupInfo {
	t.Helper()
	info, err := s.GroupInfo(context.Background(), name, key, now)
	if err != nil {
		t.Fatalf("GroupInfo(%s, %s): %v", name, key, err)
	}
	return info
}

// TestGroupInfo checks where the group info lives on every database: in
// the save's transaction, in the record's group whatever way it got it,
// and no longer than the group (Delete, Cleanup).
func TestGroupInfo(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		ctx := context.Background()
		t.Run("a failed save writes none", func(t *testing.T) {
			s, table := newStore(t, db, d)
			err := trySet(s, "session", "new", "v", store.SetOptions{OldKey: "gone", StaleTTL: time.Second, Seen: t0, Facts: []byte("f")})
			wantNotFound(t, err, "Set with a missing OldKey")
			if n := countRows(t, db, table+"_groups"); n != 0 {
				t.Fatalf("%d group info rows after a refused Set; want none", n)
			}
		})
		t.Run("times and facts", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			seen := t0.Add(123456 * time.Microsecond)
			set(t, s, "session", "s1", "v", store.SetOptions{Seen: seen, Facts: []byte("\x00binary\xff")})
			info := groupInfo(t, s, "session", "s1", t0)
			if !info.Created.Equal(seen) || !info.Seen.Equal(seen) || !bytes.Equal(info.Facts, []byte("\x00binary\xff")) {
				t.Fatalf("GroupInfo = %+v; want created and seen %v (microseconds kept) and the binary facts", info, seen)
			}
			later := seen.Add(time.Minute)
			set(t, s, "session", "s2", "v", store.SetOptions{OldKey: "s1", StaleTTL: time.Second, Seen: later})
			info = groupInfo(t, s, "session", "s2", t0)
			if !info.Created.Equal(seen) || !info.Seen.Equal(later) || !bytes.Equal(info.Facts, []byte("\x00binary\xff")) {
				t.Fatalf("GroupInfo after a save with nil Facts = %+v; want created %v, seen %v, the facts kept", info, seen, later)
			}
			set(t, s, "session", "s3", "v", store.SetOptions{OldKey: "s2", StaleTTL: time.Second, Seen: later, Facts: []byte{}})
			if info = groupInfo(t, s, "session", "s3", t0); len(info.Facts) != 0 {
				t.Fatalf("GroupInfo after a save with empty Facts = %q; want none", info.Facts)
			}
			if _, err := s.GroupInfo(ctx, "remember", "s3", t0); err == nil {
				t.Fatal("GroupInfo of a key under another cookie name: nil error; want ErrNotFound")
			}
		})
		t.Run("a key another cookie name holds", func(t *testing.T) {
			s, table := newStore(t, db, d)
			set(t, s, "session", "k", "v", store.SetOptions{Seen: t0, Facts: []byte("mine")})
			for _, opts := range []store.SetOptions{
				{Seen: t0.Add(time.Minute), Facts: []byte("theirs")},
				{Seen: t0.Add(time.Minute)},
				{Seen: t0.Add(time.Minute), Partner: store.RecordKey{Name: "session", Key: "k"}},
			} {
				if err := trySet(s, "remember", "k", "w", opts); err == nil {
					t.Fatal("Set of a key another cookie name holds: nil error")
				}
			}
			if info := groupInfo(t, s, "session", "k", t0); !info.Seen.Equal(t0) || string(info.Facts) != "mine" {
				t.Fatalf("GroupInfo after refused Sets under another name = %+v; want it untouched", info)
			}
			if n := countRows(t, db, table+"_groups"); n != 1 {
				t.Fatalf("%d group info rows; want 1", n)
			}
		})
		t.Run("a record of the reference gets a group", func(t *testing.T) {
			s, table := newStore(t, db, d)
			insertLegacy(t, db, d, table, "session", "l1", "legacy", t0.Add(time.Hour))
			insertLegacy(t, db, d, table, "session", "l2", "legacy", t0.Add(time.Hour))
			before := groupInfo(t, s, "session", "l1", t0)
			if before.ID == "" || !before.Seen.IsZero() || before.ID == groupInfo(t, s, "session", "l2", t0).ID {
				t.Fatalf("GroupInfo of records without a group = %+v; want an ID of its own and no times", before)
			}
			// Written again in place (no OldKey): it gets a group, which
			// keeps the info.
			set(t, s, "session", "l1", "rewritten", store.SetOptions{Seen: t0})
			if info := groupInfo(t, s, "session", "l1", t0); !info.Seen.Equal(t0) {
				t.Fatalf("GroupInfo of a record of the reference saved with Seen = %+v; want seen %v", info, t0)
			}
		})
		t.Run("delete ends it", func(t *testing.T) {
			s, table := newStore(t, db, d)
			set(t, s, "session", "s1", "v", store.SetOptions{Seen: t0})
			set(t, s, "remember", "r1", "v", store.SetOptions{Partner: store.RecordKey{Name: "session", Key: "s1"}, Seen: t0})
			set(t, s, "session", "other", "v", store.SetOptions{Seen: t0})
			del(t, s, "remember", "r1")
			if n := countRows(t, db, table+"_groups"); n != 1 {
				t.Fatalf("%d group info rows after the Delete of one of two groups; want 1", n)
			}
		})
		t.Run("cleanup ends it with the group", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := subject("alice")
			set(t, s, "session", "short", "v", store.SetOptions{TTL: time.Second, Seen: t0})
			set(t, s, "session", "long", "v", store.SetOptions{Seen: t0})
			// Its records pruned by Sessions, not by Cleanup.
			set(t, s, "session", "pruned", "v", store.SetOptions{TTL: time.Second, Metadata: md, Seen: t0})
			// A group whose last record was saved without Seen: its info
			// has expired, the group has not.
			set(t, s, "session", "g1", "v", store.SetOptions{TTL: time.Second, Seen: t0})
			set(t, s, "session", "g2", "v", store.SetOptions{OldKey: "g1"})
			later := t0.Add(10 * time.Second)
			if got := listed(t, s, "session", md, later); len(got) != 0 {
				t.Fatalf("Sessions = %v; want none", got)
			}
			if n := countRows(t, db, table+"_groups"); n != 4 {
				t.Fatalf("%d group info rows before Cleanup; want 4", n)
			}
			if _, err := s.Cleanup(ctx, later); err != nil {
				t.Fatal(err)
			}
			if n := countRows(t, db, table+"_groups"); n != 2 {
				t.Fatalf("%d group info rows after Cleanup; want 2 (the groups with a record)", n)
			}
			for _, k := range []string{"long", "g2"} {
				if info := groupInfo(t, s, "session", k, later); !info.Created.Equal(t0) {
					t.Fatalf("GroupInfo(%s) after Cleanup = %+v; want its times", k, info)
				}
			}
		})
	})
}
