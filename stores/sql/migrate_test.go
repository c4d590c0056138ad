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

// oldSchema is the DDL of the tables before record groups (no grp column),
// with the default names.
var oldSchema = map[sqlstore.Dialect][]string{
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

// TestMigrateUpgradesOldTables runs Migrate on the tables of an earlier
// version, holding sessions: it adds the grp column and its index, the
// sessions stay readable and listed, and they rotate and end as records of
// a group of their own.
func TestMigrateUpgradesOldTables(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		for _, qualified := range []bool{false, true} {
			name := "unqualified"
			if qualified {
				name = "schema-qualified"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				table := "sessions_" + randomSuffix()
				t.Cleanup(func() {
					db.Exec("DROP TABLE IF EXISTS " + table + "_meta")
					db.Exec("DROP TABLE IF EXISTS " + table)
					db.Exec("DROP TABLE IF EXISTS " + table + "_revoked")
				})
				for _, stmt := range oldSchema[d] {
					if _, err := db.Exec(strings.ReplaceAll(stmt, "sessions", table)); err != nil {
						t.Fatalf("old schema: %v\n%s", err, stmt)
					}
				}
				md := subject("alice")
				for _, k := range []string{"old1", "old2"} {
					insertLegacy(t, db, d, table, "session", k, "value of "+k, t0.Add(time.Hour))
					if _, err := db.Exec("INSERT INTO "+table+"_meta (aud, sub, name, sid) VALUES ("+
						placeholders(d, 4)+")", "aud", "alice", "session", k); err != nil {
						t.Fatal(err)
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
				for range 2 { // the second run finds nothing to do
					if err := sqlstore.Migrate(ctx, db, d, sqlstore.WithTable(option)); err != nil {
						t.Fatalf("Migrate on the old tables: %v", err)
					}
				}
				if !hasIndex(t, db, d, table, table+"_grp_idx") {
					t.Fatalf("no index %s_grp_idx after Migrate", table)
				}

				s, err := sqlstore.New(db, d, sqlstore.WithTable(option))
				if err != nil {
					t.Fatal(err)
				}
				wantGet(t, s, "session", "old1", t0, "value of old1")
				if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"old1", "old2"}) {
					t.Fatalf("Sessions = %v; want both sessions of the earlier version", got)
				}
				set(t, s, "session", "new1", "n", store.SetOptions{OldKey: "old1", StaleTTL: 10 * time.Second, Metadata: md})
				del(t, s, "session", "new1")
				wantGet(t, s, "session", "old1", t0, "")
				wantGet(t, s, "session", "old2", t0, "value of old2")
				if got := listed(t, s, "session", md, t0); !slices.Equal(got, []string{"old2"}) {
					t.Fatalf("Sessions after ending the first session = %v; want old2", got)
				}
			})
		}
	})
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

// TestREADMEUpgrade keeps the README's upgrade statements in step with
// what Migrate runs on old tables.
func TestREADMEUpgrade(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			stmts, err := sqlstore.UpgradeSchema(d)
			if err != nil {
				t.Fatal(err)
			}
			block := "```sql\n" + strings.Join(stmts, ";\n") + ";\n```"
			if !strings.Contains(string(readme), block) {
				t.Errorf("README.md lacks the %s upgrade statements:\n%s", d, block)
			}
		})
	}
}
