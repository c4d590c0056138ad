package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// TestConformance runs the Store contract suite on every database, each
// rule on its own pair of tables. Expiry follows the session clock that
// the suite passes in the options, so it needs no Wait. Records are keyed
// by storage key alone, as in lua-resty-session's tables (SharedKeys).
func TestConformance(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		conformance.TestStore(t, func(t *testing.T) session.Store {
			s, _ := newStore(t, db, d)
			return s
		}, &conformance.StoreOptions{SharedKeys: true})
	})
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func set(t *testing.T, s session.Store, name, key, value string, opts store.SetOptions) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = t0
	}
	if opts.TTL == 0 {
		opts.TTL = time.Hour
	}
	if err := s.Set(context.Background(), name, key, []byte(value), opts); err != nil {
		t.Fatalf("Set(%s, %s): %v", name, key, err)
	}
}

// wantValue checks that Get returns want at now, even an empty want.
func wantValue(t *testing.T, s session.Store, name, key string, now time.Time, want string) {
	t.Helper()
	got, err := s.Get(context.Background(), name, key, store.GetOptions{Now: now})
	if err != nil || string(got) != want {
		t.Fatalf("Get(%s, %s) at %v = %q, %v; want %q", name, key, now.Sub(t0), got, err, want)
	}
}

// wantGet checks what Get returns at now: want, or ErrNotFound when want
// is "".
func wantGet(t *testing.T, s session.Store, name, key string, now time.Time, want string) {
	t.Helper()
	got, err := s.Get(context.Background(), name, key, store.GetOptions{Now: now})
	switch {
	case want == "" && !errors.Is(err, session.ErrNotFound):
		t.Fatalf("Get(%s, %s) at %v = %q, %v; want ErrNotFound", name, key, now.Sub(t0), got, err)
	case want != "" && (err != nil || string(got) != want):
		t.Fatalf("Get(%s, %s) at %v = %q, %v; want %q", name, key, now.Sub(t0), got, err, want)
	}
}

func TestStoreRules(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		ctx := context.Background()
		t.Run("set get delete", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			wantGet(t, s, "session", "k1", t0, "")
			set(t, s, "session", "k1", `["v1"]`, store.SetOptions{})
			wantGet(t, s, "session", "k1", t0, `["v1"]`)
			set(t, s, "session", "k1", `["v2"]`, store.SetOptions{})
			wantGet(t, s, "session", "k1", t0, `["v2"]`)
			if err := s.Delete(ctx, "session", "k1", store.DeleteOptions{Now: t0}); err != nil {
				t.Fatal(err)
			}
			wantGet(t, s, "session", "k1", t0, "")
			if err := s.Delete(ctx, "session", "k1", store.DeleteOptions{Now: t0}); err != nil {
				t.Fatalf("deleting a missing record: %v", err)
			}
		})
		t.Run("keys differing in case are distinct", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "abcDEF", "upper", store.SetOptions{})
			set(t, s, "session", "abcdef", "lower", store.SetOptions{})
			wantGet(t, s, "session", "abcDEF", t0, "upper")
			wantGet(t, s, "session", "abcdef", t0, "lower")
		})
		t.Run("a key belongs to one cookie name", func(t *testing.T) {
			s, table := newStore(t, db, d)
			set(t, s, "session", "k", "v", store.SetOptions{})
			wantGet(t, s, "remember", "k", t0, "")
			if err := s.Delete(ctx, "remember", "k", store.DeleteOptions{Now: t0}); err != nil {
				t.Fatal(err)
			}
			wantGet(t, s, "session", "k", t0, "v")
			for _, opts := range []store.SetOptions{{}, {Metadata: subject("alice")}} {
				if err := trySet(s, "remember", "k", "other", opts); err == nil || errors.Is(err, session.ErrNotFound) {
					t.Fatalf("Set of a key stored under another cookie name = %v; want an error (not ErrNotFound)", err)
				}
			}
			wantGet(t, s, "session", "k", t0, "v")
			wantGet(t, s, "remember", "k", t0, "")
			if n, m := countRows(t, db, table), countRows(t, db, table+"_meta"); n != 1 || m != 0 {
				t.Fatalf("%d records and %d index rows; want the first record only", n, m)
			}
			// The same values again under the same name is no conflict
			// (MySQL reports no changed row for it).
			set(t, s, "session", "k", "v", store.SetOptions{})
			wantGet(t, s, "session", "k", t0, "v")
		})
		t.Run("keys and names the columns cannot hold", func(t *testing.T) {
			s, table := newStore(t, db, d)
			for _, tt := range []struct{ name, key string }{
				{"session", strings.Repeat("k", 44)}, // wider than CHAR(43)
				{"session", "k k"},
				{"session", "kä"},
				{"session", ""},
				{strings.Repeat("n", 256), "k"},
				{"", "k"},
				{"a b", "k"},
			} {
				err := trySet(s, tt.name, tt.key, "v", store.SetOptions{})
				if err == nil || errors.Is(err, session.ErrNotFound) {
					t.Errorf("Set(%q, %q) = %v; want an error", tt.name, tt.key, err)
				}
				wantGet(t, s, tt.name, tt.key, t0, "")
				if err := s.Delete(ctx, tt.name, tt.key, store.DeleteOptions{Now: t0}); err != nil {
					t.Errorf("Delete(%q, %q) = %v; want nil", tt.name, tt.key, err)
				}
				wantNotFound(t, trySet(s, tt.name, tt.key, "v", store.SetOptions{Replace: true}), "Replace of an impossible record")
			}
			if n := countRows(t, db, table); n != 0 {
				t.Fatalf("%d rows; want none", n)
			}
			set(t, s, strings.Repeat("n", 255), strings.Repeat("k", 43), "widest", store.SetOptions{})
			wantGet(t, s, strings.Repeat("n", 255), strings.Repeat("k", 43), t0, "widest")
		})
		t.Run("values are text, other bytes escaped", func(t *testing.T) {
			s, table := newStore(t, db, d)
			for i, tt := range []struct{ value, stored string }{
				{`["qMGcF8ZNryw98HHBbSe0rfVOJW48jiDT18ktSOABSBzII2mXVvifGZsGRf9R62rc"]`,
					`["qMGcF8ZNryw98HHBbSe0rfVOJW48jiDT18ktSOABSBzII2mXVvifGZsGRf9R62rc"]`},
				{"", ""},
				{"tab\tline\n", "tab\tline\n"},
				{"\x00", "base64:AA=="},
				{"caf\xc3\xa9", "base64:Y2Fmw6k="},
				{"base64:AA==", "base64:YmFzZTY0OkFBPT0="}, // the prefix itself is escaped
			} {
				key := fmt.Sprint("v", i)
				set(t, s, "session", key, tt.value, store.SetOptions{})
				wantValue(t, s, "session", key, t0, tt.value)
				var stored string
				if err := db.QueryRow("SELECT data FROM "+table+" WHERE sid = "+ph(d), key).Scan(&stored); err != nil || stored != tt.stored {
					t.Errorf("data column of %q = %q, %v; want %q", tt.value, stored, err, tt.stored)
				}
			}
		})
		t.Run("expiry follows the session clock, in whole seconds", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			at := t0.Add(700 * time.Millisecond) // the expiry second is t0 + 10 s
			set(t, s, "session", "k", "v", store.SetOptions{Now: at, TTL: 10 * time.Second})
			wantGet(t, s, "session", "k", t0.Add(10*time.Second+999*time.Millisecond), "v") // live through its last second: exp >= now
			wantGet(t, s, "session", "k", t0.Add(11*time.Second), "")
			set(t, s, "session", "r", "v", store.SetOptions{TTL: 1500 * time.Millisecond}) // rounded up to 2 s
			wantGet(t, s, "session", "r", t0.Add(2*time.Second), "v")
			wantGet(t, s, "session", "r", t0.Add(3*time.Second), "")
		})
		t.Run("stale ttl shortens the old record", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "old", "o", store.SetOptions{TTL: time.Hour})
			now := t0.Add(time.Minute)
			set(t, s, "session", "new", "n", store.SetOptions{Now: now, OldKey: "old", StaleTTL: 10 * time.Second})
			wantGet(t, s, "session", "old", now.Add(10*time.Second), "o")
			wantGet(t, s, "session", "old", now.Add(11*time.Second), "")
			wantGet(t, s, "session", "new", now.Add(30*time.Minute), "n")
		})
		t.Run("stale ttl never lengthens", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			set(t, s, "session", "old", "o", store.SetOptions{TTL: 5 * time.Second})
			set(t, s, "session", "new", "n", store.SetOptions{OldKey: "old", StaleTTL: time.Minute})
			wantGet(t, s, "session", "old", t0.Add(5*time.Second), "o")
			wantGet(t, s, "session", "old", t0.Add(6*time.Second), "")
		})
		t.Run("large value", func(t *testing.T) {
			s, _ := newStore(t, db, d)
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
			big = big[:len(big)-1]
			if err := s.Set(ctx, "session", "big", big, store.SetOptions{Now: t0, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "session", "big", store.GetOptions{Now: t0})
			if err != nil || !bytes.Equal(got, big) {
				t.Fatalf("Get = %d bytes, %v; want %d bytes", len(got), err, len(big))
			}
		})
		t.Run("subject index", func(t *testing.T) {
			s, table := newStore(t, db, d)
			md := &store.Metadata{Audiences: []string{"aud", "aud2"}, Subjects: []string{"alice", "alice"}}
			set(t, s, "session", "a1", "1", store.SetOptions{TTL: time.Hour, Metadata: md})
			set(t, s, "session", "a2", "2", store.SetOptions{TTL: 2 * time.Hour, Metadata: md})
			set(t, s, "session", "a3", "3", store.SetOptions{TTL: time.Minute, Metadata: md})
			set(t, s, "session", "a2", "2", store.SetOptions{TTL: 2 * time.Hour, Metadata: md}) // again: no duplicate
			set(t, s, "session", "b1", "b", store.SetOptions{Metadata: &store.Metadata{
				Audiences: []string{"aud"}, Subjects: []string{"bob"}}})
			set(t, s, "remember", "r1", "r", store.SetOptions{Metadata: md})

			keys := func(now time.Time, aud, sub string) []string {
				t.Helper()
				entries, err := s.Sessions(ctx, "session", aud, sub, now)
				if err != nil {
					t.Fatal(err)
				}
				var ks []string
				for _, e := range entries {
					ks = append(ks, e.Key)
					if e.Expires.Before(now) {
						t.Errorf("entry %s expired at %v, before %v", e.Key, e.Expires, now)
					}
				}
				return ks
			}
			if got, want := keys(t0, "aud", "alice"), []string{"a3", "a1", "a2"}; !slices.Equal(got, want) {
				t.Fatalf("Sessions = %v; want %v (soonest expiry first)", got, want)
			}
			entries, _ := s.Sessions(ctx, "session", "aud", "alice", t0)
			if want := t0.Add(time.Minute); !entries[0].Expires.Equal(want) {
				t.Errorf("Expires = %v; want %v", entries[0].Expires, want)
			}
			if got, want := keys(t0.Add(2*time.Minute), "aud2", "alice"), []string{"a1", "a2"}; !slices.Equal(got, want) {
				t.Fatalf("Sessions after a3 expired = %v; want %v", got, want)
			}
			// 9 rows (a1, a2, a3 and r1 in two pairs, b1 in one); listing
			// aud2/alice deleted the expired a3, and its rows with it.
			if got := countRows(t, db, table+"_meta"); got != 7 {
				t.Errorf("%d index rows after pruning; want 7", got)
			}
			wantGet(t, s, "session", "a3", t0, "")
			if err := s.Delete(ctx, "session", "a1", store.DeleteOptions{Now: t0, Metadata: md}); err != nil {
				t.Fatal(err)
			}
			if got, want := keys(t0, "aud", "alice"), []string{"a2"}; !slices.Equal(got, want) {
				t.Fatalf("Sessions after delete = %v; want %v", got, want)
			}
			if got := countRows(t, db, table+"_meta"); got != 5 {
				t.Errorf("%d index rows after deleting a1; want 5 (its rows go with it)", got)
			}
			// A save that replaces a2 indexes the new key; a2 keeps its rows,
			// as lua-resty-session leaves them, and is listed while it stays
			// readable for the stale TTL, then no longer.
			set(t, s, "session", "a4", "4", store.SetOptions{TTL: 3 * time.Hour, Metadata: md,
				OldKey: "a2", StaleTTL: 10 * time.Second})
			if got, want := keys(t0, "aud2", "alice"), []string{"a2", "a4"}; !slices.Equal(got, want) {
				t.Fatalf("Sessions after replacing a2 = %v; want %v", got, want)
			}
			entries, _ = s.Sessions(ctx, "session", "aud2", "alice", t0)
			if want := t0.Add(10 * time.Second); !entries[0].Expires.Equal(want) {
				t.Errorf("the replaced key expires at %v; want %v (its stale TTL)", entries[0].Expires, want)
			}
			if got, want := keys(t0.Add(11*time.Second), "aud2", "alice"), []string{"a4"}; !slices.Equal(got, want) {
				t.Fatalf("Sessions once the replaced key expired = %v; want %v", got, want)
			}
			if got, want := keys(t0, "aud", "bob"), []string{"b1"}; !slices.Equal(got, want) {
				t.Fatalf("Sessions of bob = %v; want %v", got, want)
			}
			if got := keys(t0, "nobody", "nobody"); len(got) != 0 {
				t.Fatalf("Sessions of an unknown subject = %v", got)
			}
		})
		t.Run("cleanup", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
			md := &store.Metadata{Audiences: []string{"a"}, Subjects: []string{"s"}}
			set(t, s, "session", "short", "1", store.SetOptions{TTL: time.Second, Metadata: md})
			set(t, s, "session", "long", "2", store.SetOptions{TTL: time.Hour, Metadata: md})
			n, err := s.Cleanup(ctx, t0.Add(time.Minute))
			if err != nil || n != 1 {
				t.Fatalf("Cleanup = %d, %v; want 1 row", n, err)
			}
			if got := countRows(t, db, table); got != 1 {
				t.Errorf("%d rows left; want 1", got)
			}
			if got := countRows(t, db, table+"_meta"); got != 1 {
				t.Errorf("%d index rows left; want 1", got)
			}
		})
		t.Run("cleanup on write", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(1))
			set(t, s, "session", "short", "1", store.SetOptions{TTL: time.Second})
			set(t, s, "session", "other", "2", store.SetOptions{Now: t0.Add(time.Minute)})
			if got := countRows(t, db, table); got != 1 {
				t.Errorf("%d rows after a write with probability 1; want 1", got)
			}
		})
		t.Run("cleaner", func(t *testing.T) {
			s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0),
				sqlstore.WithCleanupInterval(10*time.Millisecond),
				sqlstore.WithClock(func() time.Time { return t0.Add(time.Hour) }))
			set(t, s, "session", "k", "v", store.SetOptions{TTL: time.Minute})
			deadline := time.Now().Add(time.Minute) // every 10 ms, on a machine that may be busy
			for countRows(t, db, table) != 0 {
				if time.Now().After(deadline) {
					t.Fatal("the cleaner did not delete the expired row within a minute")
				}
				time.Sleep(10 * time.Millisecond)
			}
			s.Stop()
			s.Stop() // twice is fine
		})
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name string
		db   *sql.DB
		d    sqlstore.Dialect
		opts []sqlstore.Option
	}{
		{"nil db", nil, sqlstore.Postgres, nil},
		{"zero dialect", db, sqlstore.Dialect{}, nil},
		{"empty table", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTable("")}},
		{"injection", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTable("s; DROP TABLE x")}},
		{"quote", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTable(`s"`)}},
		{"leading digit", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTable("1s")}},
		{"two dots", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTable("a.b.c")}},
		{"too long", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTable(string(bytes.Repeat([]byte("s"), 56)))}},
		{"bad meta", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithMetaTable("m-m")}},
		{"same tables", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithMetaTable("sessions")}},
		{"schemas differ", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTable("a.s"), sqlstore.WithMetaTable("b.m")}},
		{"negative interval", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithCleanupInterval(-time.Second)}},
		{"probability above 1", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithCleanupProbability(1.5)}},
		{"negative probability", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithCleanupProbability(-0.1)}},
		{"nil clock", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlstore.New(tt.db, tt.d, tt.opts...)
			if s != nil || !errors.Is(err, session.ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", s, err)
			}
			if tt.db != nil {
				if err := sqlstore.Migrate(context.Background(), tt.db, tt.d, tt.opts...); !errors.Is(err, session.ErrInvalidConfig) {
					t.Fatalf("Migrate = %v; want ErrInvalidConfig", err)
				}
			}
		})
	}
}

func TestSetRejectsBadArguments(t *testing.T) {
	s, _ := newStore(t, openSQLiteMemory(t), sqlstore.SQLite)
	ctx := context.Background()
	if err := s.Set(ctx, "session", "k", []byte("v"), store.SetOptions{Now: t0}); err == nil {
		t.Error("Set with a zero TTL succeeded")
	}
	md := &store.Metadata{Audiences: []string{"a", "b"}, Subjects: []string{"s"}}
	if err := s.Set(ctx, "session", "k", []byte("v"), store.SetOptions{Now: t0, TTL: time.Hour, Metadata: md}); err == nil {
		t.Error("Set with 2 audiences and 1 subject succeeded")
	}
}

// TestREADMESchema keeps the README's DDL in step with Schema.
func TestREADMESchema(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			ddl, err := sqlstore.Schema(d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(readme), "```sql\n"+ddl+"```") {
				t.Errorf("README.md lacks the %s DDL that Schema returns:\n%s", d, ddl)
			}
		})
	}
}

// TestSharedDatabase runs two stores, each with its own *sql.DB of the same
// database server and the same tables, as two instances of an application
// behind a load balancer (conformance.TestSharedStore).
func TestSharedDatabase(t *testing.T) {
	for _, tt := range []struct {
		name    string
		open    func(testing.TB) *sql.DB
		dialect sqlstore.Dialect
	}{
		{"postgres", openPostgres, sqlstore.Postgres},
		{"mysql", openMySQL, sqlstore.MySQL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, table := newStore(t, tt.open(t), tt.dialect)
			b, err := sqlstore.New(tt.open(t), tt.dialect, sqlstore.WithTable(table))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Stop)
			conformance.TestSharedStore(t, a, b)
		})
	}
}
