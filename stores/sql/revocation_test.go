package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	mrand "math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// markKey is a mark key as core makes them: a kind, a colon and 43
// base64url characters.
func markKey(kind string) string {
	var b [32]byte
	rand.Read(b[:])
	return kind + ":" + base64.RawURLEncoding.EncodeToString(b[:])
}

// markExp returns the expiry stored for the mark key in the revocation
// table of the sessions table, or the zero Time when there is no row.
func markExp(t *testing.T, db *sql.DB, d sqlstore.Dialect, table, key string) time.Time {
	t.Helper()
	var exp any
	err := db.QueryRow("SELECT exp FROM "+table+"_revoked WHERE mark = "+ph(d), key).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}
	}
	if err != nil {
		t.Fatal(err)
	}
	switch v := exp.(type) {
	case time.Time:
		return v
	case int64:
		return time.UnixMicro(v)
	case []byte:
		tm, err := time.ParseInLocation("2006-01-02 15:04:05.999999", string(v), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	t.Fatalf("exp of type %T", exp)
	return time.Time{}
}

func TestRevoker(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		testRevoker(t, db, d)
	})
}

func testRevoker(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
	ctx := context.Background()
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

	// A mark as a test writes it: key index, At in seconds from t0, TTL.
	type mark struct {
		key int
		at  int
		ttl time.Duration
	}
	// A Revoke call at t0 plus shift.
	type revoke struct {
		shift time.Duration
		marks []mark
	}
	const none = -1 << 30 // no live mark
	tests := []struct {
		name    string
		revokes []revoke
		shift   time.Duration         // of the lookup's now
		lookup  []int                 // the keys Revoked is asked for
		want    []int                 // At of each answer in seconds from t0, or none
		exp     map[int]time.Duration // key -> expiry stored, from t0
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
			exp:    map[int]time.Duration{0: time.Hour, 1: time.Hour, 2: time.Hour},
		},
		{
			name:    "a TTL under a second is kept a second",
			revokes: []revoke{{0, []mark{{0, 0, 10 * time.Millisecond}, {1, 0, 0}, {2, 0, -time.Hour}, {3, 0, 1500 * time.Millisecond}}}},
			lookup:  []int{0, 1, 2, 3},
			want:    []int{0, 0, 0, 0},
			exp:     map[int]time.Duration{0: time.Second, 1: time.Second, 2: time.Second, 3: 1500 * time.Millisecond},
		},
		{
			name:    "At is kept in whole seconds",
			revokes: []revoke{{0, []mark{{0, 0, time.Hour}}}},
			lookup:  []int{0},
			want:    []int{0},
		},
		{
			name:    "a mark lives until its expiry by now",
			revokes: []revoke{{0, []mark{{0, 0, time.Hour}, {1, 0, time.Hour + time.Microsecond}}}},
			shift:   time.Hour,
			lookup:  []int{0, 1},
			want:    []int{none, 0},
		},
		{
			name: "a mark past its expiry by now is replaced, not merged",
			revokes: []revoke{
				{0, []mark{{0, 100, time.Hour}}},
				{2 * time.Hour, []mark{{0, 50, 30 * time.Minute}}},
			},
			shift:  2 * time.Hour,
			lookup: []int{0},
			want:   []int{50},
			exp:    map[int]time.Duration{0: 150 * time.Minute},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, table := newStore(t, db, d)
			keys := make([]string, 8)
			for i := range keys {
				keys[i] = markKey([]string{"sid", "sub", "key"}[i%3])
			}
			for _, call := range tt.revokes {
				marks := make([]store.Mark, len(call.marks))
				for i, mk := range call.marks {
					marks[i] = store.Mark{Key: keys[mk.key], At: at(mk.at).Add(700 * time.Millisecond), TTL: mk.ttl}
				}
				if err := s.Revoke(ctx, marks, t0.Add(call.shift)); err != nil {
					t.Fatalf("Revoke(%v): %v", call, err)
				}
			}
			lookup := make([]string, len(tt.lookup))
			for i, k := range tt.lookup {
				lookup[i] = keys[k]
			}
			got, err := s.Revoked(ctx, lookup, t0.Add(tt.shift))
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
					t.Errorf("answer %d (key %d) = %v, want %v (At in whole seconds)", i, tt.lookup[i], got[i], at(w))
				}
			}
			for k, exp := range tt.exp {
				if got := markExp(t, db, d, table, keys[k]); !got.Equal(t0.Add(exp)) {
					t.Errorf("exp of mark %d = t0%+v, want t0%+v", k, got.Sub(t0), exp)
				}
			}
		})
	}

	t.Run("marks expire in real time with the store's clock", func(t *testing.T) {
		s, _ := newStore(t, db, d)
		short, long := markKey("sid"), markKey("sid")
		start := time.Now()
		if err := s.Revoke(ctx, []store.Mark{{Key: short, At: t0, TTL: time.Second}, {Key: long, At: t0, TTL: time.Hour}}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		for {
			got, err := s.Revoked(ctx, []string{short, long}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got[1].IsZero() {
				t.Fatal("the mark with a TTL of an hour is gone")
			}
			if got[0].IsZero() {
				if time.Since(start) < time.Second {
					t.Fatalf("the mark with a TTL of a second was gone after %v", time.Since(start))
				}
				break
			}
			if time.Since(start) > 20*time.Second {
				t.Fatal("the mark with a TTL of a second is still there after 20s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("many keys in one call", func(t *testing.T) {
		s, _ := newStore(t, db, d)
		const n = 2500 // more than one statement's worth of marks and of keys
		marks := make([]store.Mark, n)
		lookup := make([]string, 0, n+n/10)
		for i := range marks {
			marks[i] = store.Mark{Key: markKey("key"), At: at(-i), TTL: time.Minute}
			lookup = append(lookup, marks[i].Key)
			if i%10 == 0 {
				lookup = append(lookup, markKey("key")) // never revoked
			}
		}
		if err := s.Revoke(ctx, marks, t0); err != nil {
			t.Fatal(err)
		}
		got, err := s.Revoked(ctx, lookup, t0)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for j, k := range lookup {
			if i < n && k == marks[i].Key {
				if !got[j].Equal(marks[i].At) {
					t.Fatalf("answer %d = %v, want %v", j, got[j], marks[i].At)
				}
				i++
			} else if !got[j].IsZero() {
				t.Fatalf("answer %d (never revoked) = %v, want the zero Time", j, got[j])
			}
		}
	})

	t.Run("concurrent revokes keep the latest At and the longest TTL, without deadlocks", func(t *testing.T) {
		s, table := newStore(t, db, d)
		keys := make([]string, 20)
		for i := range keys {
			keys[i] = markKey("sub")
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				marks := make([]store.Mark, len(keys))
				for j, k := range keys {
					marks[j] = store.Mark{Key: k, At: at(i), TTL: time.Duration(i+1) * time.Minute}
				}
				mrand.Shuffle(len(marks), func(a, b int) { marks[a], marks[b] = marks[b], marks[a] })
				errs <- s.Revoke(ctx, marks, t0)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Revoked(ctx, keys, t0)
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			if !g.Equal(at(19)) {
				t.Fatalf("answer %d = %v, want %v", i, g, at(19))
			}
			if exp := markExp(t, db, d, table, keys[i]); !exp.Equal(t0.Add(20 * time.Minute)) {
				t.Fatalf("exp of mark %d = t0%+v, want t0+20m (the longest)", i, exp.Sub(t0))
			}
		}
	})

	t.Run("cleanup deletes expired marks once the store revokes", func(t *testing.T) {
		s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
		marks := []store.Mark{{Key: markKey("sid"), At: t0, TTL: time.Minute}, {Key: markKey("sid"), At: t0, TTL: time.Hour}}
		if err := s.Revoke(ctx, marks, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Cleanup(ctx, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, table+"_revoked"); n != 1 {
			t.Fatalf("%d marks after a cleanup past the first one's expiry, want 1", n)
		}

		// A store that never served as a revocation backend does not touch
		// the table: deployments that run their own DDL need not have it.
		other, err := sqlstore.New(db, d, sqlstore.WithTable(table))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("DROP TABLE " + table + "_revoked"); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Cleanup(ctx, t0.Add(time.Hour)); err != nil {
			t.Fatalf("Cleanup without a revocation table: %v", err)
		}
	})

	t.Run("migrate adds the revocation table to existing tables", func(t *testing.T) {
		s, table := newStore(t, db, d)
		set(t, s, "session", "k", "v", store.SetOptions{})
		if _, err := db.Exec("DROP TABLE " + table + "_revoked"); err != nil {
			t.Fatal(err)
		}
		if err := sqlstore.Migrate(ctx, db, d, sqlstore.WithTable(table)); err != nil {
			t.Fatal(err)
		}
		wantGet(t, s, "session", "k", t0, "v")
		k := markKey("sid")
		if err := s.Revoke(ctx, []store.Mark{{Key: k, At: t0, TTL: time.Hour}}, t0); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Revoked(ctx, []string{k}, t0); err != nil || !got[0].Equal(t0) {
			t.Fatalf("Revoked = %v, %v; want %v", got, err, t0)
		}
		if !hasIndex(t, db, d, table+"_revoked", table+"_rev_exp") {
			t.Fatalf("no index %s_rev_exp", table)
		}
	})

	t.Run("errors", func(t *testing.T) {
		s, _ := newStore(t, db, d)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		mark := []store.Mark{{Key: markKey("sid"), At: t0, TTL: time.Hour}}
		if err := s.Revoke(cancelled, mark, t0); !errors.Is(err, context.Canceled) {
			t.Errorf("Revoke with a cancelled context: %v, want context.Canceled", err)
		}
		if got, err := s.Revoked(cancelled, []string{mark[0].Key}, t0); !errors.Is(err, context.Canceled) || got != nil {
			t.Errorf("Revoked with a cancelled context: %v, %v; want no answers and context.Canceled", got, err)
		}
		if got, err := s.Revoked(ctx, []string{mark[0].Key}, t0); err != nil || !got[0].IsZero() {
			t.Fatalf("mark written despite the cancelled context: %v, %v", got, err)
		}
	})
}

// TestRevocationQueriesUseIndexes checks, on 20,000 marks, that the lookup
// finds its rows by the primary key and the cleanup by the exp index.
func TestRevocationQueriesUseIndexes(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
		marks := make([]store.Mark, 20_000)
		for i := range marks {
			marks[i] = store.Mark{Key: markKey("sid"), At: t0, TTL: time.Duration(1+i%86400) * time.Second}
		}
		ctx := context.Background()
		if err := s.Revoke(ctx, marks, t0); err != nil {
			t.Fatal(err)
		}
		analyze := map[sqlstore.Dialect]string{
			sqlstore.Postgres: "ANALYZE " + table + "_revoked",
			sqlstore.MySQL:    "ANALYZE TABLE " + table + "_revoked",
			sqlstore.SQLite:   "ANALYZE",
		}[d]
		if _, err := db.Exec(analyze); err != nil {
			t.Fatal(err)
		}
		q := sqlstore.RevocationQueries(s)
		now := v0Time(d, t0) // marks keep microseconds, as the v0 tables did
		scan := map[sqlstore.Dialect]*regexp.Regexp{
			sqlstore.Postgres: regexp.MustCompile(`Seq Scan`),
			sqlstore.MySQL:    regexp.MustCompile(`type=(ALL|index)\b`),
			sqlstore.SQLite:   regexp.MustCompile(`(?m)^SCAN \w+$`),
		}[d]
		tests := []struct {
			query, index string
			args         []any
		}{
			{"revoked", "", []any{now, marks[1].Key, marks[2].Key, "sid:missing"}},
			{"cleanupMarks", "_rev_exp", []any{now}},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				p := plan(t, db, d, q[tt.query], tt.args...)
				t.Logf("plan of %s:\n%s", tt.query, p)
				if scan.MatchString(p) {
					t.Errorf("%s scans a table:\n%s", tt.query, p)
				}
				if tt.index != "" && !strings.Contains(p, tt.index) {
					t.Errorf("%s does not use the index %s:\n%s", tt.query, tt.index, p)
				}
			})
		}
	})
}
