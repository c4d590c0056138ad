package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// v0Schema is the DDL of sessiongo's tables before they took
// lua-resty-session's layout (v0: keyed by sid and name, binary data,
// microsecond expiries), as its first versions made them, before record
// groups (no grp column), with the default names.
var v0Schema = map[sqlstore.Dialect][]string{
	sqlstore.Postgres: {
		`CREATE TABLE sessions (sid TEXT NOT NULL, name TEXT NOT NULL, data BYTEA NOT NULL,
			exp TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (sid, name))`,
		`CREATE INDEX sessions_exp_idx ON sessions (exp)`,
		`CREATE TABLE sessions_meta (aud TEXT NOT NULL, sub TEXT NOT NULL, name TEXT NOT NULL, sid TEXT NOT NULL,
			PRIMARY KEY (aud, sub, name, sid),
			FOREIGN KEY (sid, name) REFERENCES sessions (sid, name) ON DELETE CASCADE ON UPDATE CASCADE)`,
		`CREATE INDEX sessions_meta_sid_idx ON sessions_meta (sid, name)`,
	},
	sqlstore.MySQL: {
		`CREATE TABLE sessions (sid VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, data MEDIUMBLOB NOT NULL,
			exp DATETIME(6) NOT NULL, PRIMARY KEY (sid, name), INDEX sessions_exp_idx (exp)
		) ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin`,
		`CREATE TABLE sessions_meta (aud VARCHAR(255) NOT NULL, sub VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL,
			sid VARCHAR(255) NOT NULL, PRIMARY KEY (aud, sub, name, sid), INDEX sessions_meta_sid_idx (sid, name),
			CONSTRAINT sessions_meta_sid_fk FOREIGN KEY (sid, name) REFERENCES sessions (sid, name)
			ON DELETE CASCADE ON UPDATE CASCADE
		) ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin`,
	},
	sqlstore.SQLite: {
		`CREATE TABLE sessions (sid TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, exp INTEGER NOT NULL,
			PRIMARY KEY (sid, name))`,
		`CREATE INDEX sessions_exp_idx ON sessions (exp)`,
		`CREATE TABLE sessions_meta (aud TEXT NOT NULL, sub TEXT NOT NULL, name TEXT NOT NULL, sid TEXT NOT NULL,
			PRIMARY KEY (aud, sub, name, sid),
			FOREIGN KEY (sid, name) REFERENCES sessions (sid, name) ON DELETE CASCADE ON UPDATE CASCADE)`,
		`CREATE INDEX sessions_meta_sid_idx ON sessions_meta (sid, name)`,
	},
}

// v0Time is t as the v0 tables held it: a time with microseconds (in UTC
// on MySQL), or Unix microseconds on SQLite.
func v0Time(d sqlstore.Dialect, t time.Time) any {
	if d == sqlstore.SQLite {
		return t.UnixMicro()
	}
	return t.UTC()
}

// hasIndex reports whether table has the index named index.
func hasIndex(t *testing.T, db *sql.DB, d sqlstore.Dialect, table, index string) bool {
	t.Helper()
	q := map[sqlstore.Dialect]string{
		sqlstore.Postgres: "SELECT COUNT(*) FROM pg_indexes WHERE tablename = $1 AND indexname = $2",
		sqlstore.MySQL: "SELECT COUNT(*) FROM information_schema.statistics" +
			" WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?",
		sqlstore.SQLite: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name = ?",
	}[d]
	var n int
	if err := db.QueryRow(q, table, index).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// columns returns the column names of table, in order.
func columns(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table + " WHERE 1 = 0")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

// TestMigrateFromV0 runs Migrate on tables of the earlier layout holding
// sessions, with and without the grp column, under a plain and a
// schema-qualified name: the rows move to tables of the current layout,
// which the sessions then live in (read, listed, rotated, deleted); the old
// tables stay as <table>_v0 with every row; a second Migrate finds nothing
// to do.
func TestMigrateFromV0(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		for _, tt := range []struct {
			name              string
			groups, qualified bool
		}{
			{"before groups", false, false},
			{"with groups", true, false},
			{"schema-qualified", true, true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				testMigrateFromV0(t, db, d, tt.groups, tt.qualified)
			})
		}
	})
}

func testMigrateFromV0(t *testing.T, db *sql.DB, d sqlstore.Dialect, groups, qualified bool) {
	ctx := context.Background()
	table := "sessions_" + randomSuffix()
	t.Cleanup(func() {
		for _, tb := range []string{table + "_meta", table, table + "_revoked", table + "_groups", table + "_limits",
			table + "_meta_v0", table + "_v0", table + "_meta_v1", table + "_v1"} {
			db.Exec("DROP TABLE IF EXISTS " + tb)
		}
	})
	for _, stmt := range v0Schema[d] {
		if _, err := db.Exec(strings.ReplaceAll(stmt, "sessions", table)); err != nil {
			t.Fatalf("v0 schema: %v\n%s", err, stmt)
		}
	}
	option := table
	if qualified {
		option = map[sqlstore.Dialect]string{sqlstore.Postgres: "public.", sqlstore.SQLite: "main."}[d]
		if d == sqlstore.MySQL {
			if err := db.QueryRow("SELECT DATABASE()").Scan(&option); err != nil {
				t.Fatal(err)
			}
			option += "."
		}
		option += table
	}
	if groups {
		stmts, err := sqlstore.AddGroupsSchema(d, sqlstore.WithTable(option))
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range stmts {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	insert := func(name, sid string, data []byte, exp time.Time) {
		t.Helper()
		if _, err := db.Exec("INSERT INTO "+table+" (sid, name, data, exp) VALUES ("+placeholders(d, 4)+")",
			sid, name, data, v0Time(d, exp)); err != nil {
			t.Fatal(err)
		}
	}
	index := func(name, sid string) {
		t.Helper()
		if _, err := db.Exec("INSERT INTO "+table+"_meta (aud, sub, name, sid) VALUES ("+placeholders(d, 4)+")",
			"aud", "alice", name, sid); err != nil {
			t.Fatal(err)
		}
	}
	exp := t0.Add(time.Hour + 999999*time.Microsecond) // cut to t0 + 1 h
	insert("session", "s1", []byte(`["one"]`), exp)
	index("session", "s1")
	insert("remember", "r1", []byte(`["remember"]`), t0.Add(24*time.Hour))
	index("remember", "r1")
	insert("session", "s2", []byte(`["two"]`), exp)
	index("session", "s2")
	insert("other", "s2", []byte(`["the same sid, expiring first"]`), t0.Add(time.Minute)) // left behind
	index("other", "s2")
	insert("session", "bin", []byte{0, 0xff, '\n'}, exp)          // left behind
	insert("session", "esc", []byte("base64:not an escape"), exp) // left behind
	if groups {
		if _, err := db.Exec("UPDATE "+table+" SET grp = "+ph(d)+" WHERE sid IN ('s1', 'r1')", "group-1"); err != nil {
			t.Fatal(err)
		}
	}
	before := countRows(t, db, table)

	for range 2 { // the second run finds nothing to do
		if err := sqlstore.Migrate(ctx, db, d, sqlstore.WithTable(option)); err != nil {
			t.Fatalf("Migrate on the v0 tables: %v", err)
		}
	}
	if got, want := columns(t, db, table), []string{"sid", "name", "data", "exp", "grp"}; !slices.Equal(got, want) {
		t.Fatalf("sessions columns after Migrate = %v; want %v", got, want)
	}
	if got, want := columns(t, db, table+"_meta"), []string{"aud", "sub", "sid"}; !slices.Equal(got, want) {
		t.Fatalf("index columns after Migrate = %v; want %v", got, want)
	}
	for _, idx := range []string{table + "_exp_idx", table + "_grp_idx", table + "_meta_sid_idx"} {
		tb := table
		if strings.Contains(idx, "_meta_") {
			tb += "_meta"
		}
		if !hasIndex(t, db, d, tb, idx) {
			t.Errorf("no index %s on %s after Migrate", idx, tb)
		}
	}
	if n := countRows(t, db, table+"_v0"); n != before {
		t.Errorf("%s_v0 holds %d rows; want the %d of the old table", table, n, before)
	}
	if n, m := countRows(t, db, table), countRows(t, db, table+"_meta"); n != 3 || m != 3 {
		t.Fatalf("%d records and %d index rows moved; want 3 and 3 (s1, r1, s2)", n, m)
	}
	var data string
	var expSec int64
	if err := db.QueryRow("SELECT data, "+unix(d, "exp")+" FROM "+table+" WHERE sid = "+ph(d), "s2").Scan(&data, &expSec); err != nil {
		t.Fatal(err)
	}
	if data != `["two"]` || expSec != t0.Add(time.Hour).Unix() {
		t.Fatalf("s2 moved as %q expiring at %v; want the session cookie's row, expiring at %v",
			data, time.Unix(expSec, 0).UTC(), t0.Add(time.Hour))
	}

	s, err := sqlstore.New(db, d, sqlstore.WithTable(option))
	if err != nil {
		t.Fatal(err)
	}
	md := subject("alice")
	wantGet(t, s, "session", "s1", t0, `["one"]`)
	wantGet(t, s, "remember", "r1", t0, `["remember"]`)
	wantGet(t, s, "other", "s2", t0, "")
	wantGet(t, s, "session", "bin", t0, "")
	wantGet(t, s, "session", "s2", t0.Add(time.Hour), `["two"]`)
	wantGet(t, s, "session", "s2", t0.Add(time.Hour+time.Second), "")
	if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"s1", "s2"}) {
		t.Fatalf("Sessions = %v; want both sessions of the earlier version", got)
	}
	set(t, s, "session", "new1", "n", store.SetOptions{OldKey: "s1", StaleTTL: 10 * time.Second, Metadata: md})
	del(t, s, "session", "new1")
	wantGet(t, s, "session", "s1", t0, "")
	if groups {
		wantGet(t, s, "remember", "r1", t0, "") // s1's group
	} else {
		wantGet(t, s, "remember", "r1", t0, `["remember"]`)
	}
	wantGet(t, s, "session", "s2", t0, `["two"]`)
	if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"s2"}) {
		t.Fatalf("Sessions after ending the first session = %v; want s2", got)
	}
}

// TestMigrateAddsGroups runs Migrate on tables made with the DDL of
// lua-resty-session's doc comments (the store vectors' ddl): it adds the
// grp column and the indexes, and sessiongo's own tables, and leaves the
// rows as they are.
func TestMigrateAddsGroups(t *testing.T) {
	v := loadVectors(t)
	for _, tt := range []struct {
		name string
		open func(testing.TB) *sql.DB
		d    sqlstore.Dialect
		ddl  string
	}{
		{"postgres", openPostgres, sqlstore.Postgres, v.DDL["postgres"]},
		{"mariadb", openMySQL, sqlstore.MySQL, v.DDL["mysql"]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := tt.open(t)
			table := referenceTables(t, db, tt.ddl)
			insertLegacy(t, db, tt.d, table, "session", "k", `["v"]`, t0.Add(time.Hour))
			for range 2 {
				if err := sqlstore.Migrate(context.Background(), db, tt.d, sqlstore.WithTable(table)); err != nil {
					t.Fatal(err)
				}
			}
			if got := columns(t, db, table); !slices.Contains(got, "grp") {
				t.Fatalf("columns after Migrate = %v; want grp among them", got)
			}
			if !hasIndex(t, db, tt.d, table, table+"_grp_idx") {
				t.Fatalf("no index %s_grp_idx after Migrate", table)
			}
			for _, own := range []struct{ table, index string }{
				{table + "_groups", table + "_gi_exp"},
				{table + "_limits", table + "_lim_exp"},
				{table + "_revoked", table + "_rev_exp"},
			} {
				if !hasIndex(t, db, tt.d, own.table, own.index) {
					t.Fatalf("no table %s with its index %s after Migrate", own.table, own.index)
				}
			}
			s, err := sqlstore.New(db, tt.d, sqlstore.WithTable(table))
			if err != nil {
				t.Fatal(err)
			}
			wantGet(t, s, "session", "k", t0, `["v"]`)
			// A signed-in save on the migrated tables, under a cap: the
			// record of the reference gets a group and the group its info.
			set(t, s, "session", "k", `["w"]`, store.SetOptions{Seen: t0, Metadata: subject("alice"), Limit: 1})
			if info, err := s.GroupInfo(context.Background(), "session", "k", t0); err != nil || !info.Seen.Equal(t0) {
				t.Fatalf("GroupInfo after a save on migrated tables = %+v, %v; want seen %v", info, err, t0)
			}
		})
	}
}

// placeholders returns n comma-separated placeholders of d.
func placeholders(d sqlstore.Dialect, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "?"
		if d == sqlstore.Postgres {
			ps[i] = "$" + string(rune('1'+i))
		}
	}
	return strings.Join(ps, ", ")
}

// TestREADMEMigration keeps the README's migration statements in step with
// what Migrate runs on earlier tables.
func TestREADMEMigration(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			add, err := sqlstore.AddGroupsSchema(d)
			if err != nil {
				t.Fatal(err)
			}
			v0, tx, err := sqlstore.FromV0Schema(d)
			if err != nil {
				t.Fatal(err)
			}
			if tx {
				v0 = append(append([]string{"BEGIN"}, v0...), "COMMIT")
			}
			for name, stmts := range map[string][]string{"add groups": add, "from v0": v0} {
				block := "```sql\n" + strings.Join(stmts, ";\n") + ";\n```"
				if !strings.Contains(string(readme), block) {
					t.Errorf("README.md lacks the %s statements of %s:\n%s", d, name, block)
				}
			}
		})
	}
}
