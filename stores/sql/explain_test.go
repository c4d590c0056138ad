package sqlstore_test

import (
	"database/sql"
	"regexp"
	"strings"
	"testing"

	sqlstore "github.com/sessiongo/session/stores/sql"
)

// TestQueriesUseIndexes checks, on a table of 20,000 sessions (with their
// index rows, group info and lock rows), that every statement of a store
// finds its rows through an index (the primary keys of the tables, the exp
// and grp indexes), never by scanning a table.
func TestQueriesUseIndexes(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		s, table := newStore(t, db, d)
		fill(t, db, d, table, 20_000, t0)
		q := sqlstore.Queries(s)
		now := t0.Unix()
		tests := []struct {
			query string
			args  []any
		}{
			{"get", []any{"fill-42", "session", now}},
			{"exists", []any{"fill-42", "session", now}},
			{"nameOf", []any{"fill-42"}},
			{"insert", []any{"fill-42", "session", "v", now, "grp-x"}},
			{"join", []any{"fill-42", "session", "v", now, "grp-x"}},
			{"replace", []any{"v", "fill-42", "session", now}},
			{"lock", []any{"fill-42", "session", now}},
			{"lockAny", []any{"fill-42", "session"}},
			{"claim", []any{"grp-x", "fill-42", "session", now}},
			{"shorten", []any{now, "grp-x", "fill-42", "session", now}},
			{"retire", []any{"fill-42", "session", now}},
			{"delete", []any{"fill-42", "session"}},
			{"deleteMeta", []any{"fill-42", "session"}},
			{"retireMeta", []any{"fill-42", "session", now}},
			{"deleteSidMeta", []any{"fill-42"}},
			{"deleteGroup", []any{"grp-21"}},
			{"deleteGroupMeta", []any{"grp-21"}},
			{"insertMeta", []any{"aud", "user-42", "fill-42"}},
			{"pruneScan", []any{"aud", "user-42", now}},
			{"pruneRecord", []any{"fill-42", now}},
			{"pruneRow", []any{"aud", "user-42", "fill-42"}},
			{"list", []any{"aud", "user-42", "session", now}},
			{"cleanup", []any{now}},
			{"cleanMeta", []any{now}},
			{"groupInfo", []any{"fill-42", "session", now}},
			{"info", []any{now * 1e6, now * 1e6, []byte(`{"ua":"x"}`), "fill-42"}},
			{"infoKeep", []any{now * 1e6, now * 1e6, "fill-42"}},
			{"deleteInfo", []any{"grp-21"}},
			{"cleanInfo", []any{now}},
			{"lockPair", []any{"aud", "user-42", now}},
			{"limitList", []any{"aud", "user-42", "session", now}},
			{"cleanLocks", []any{now}},
			{"insertWithInfo", []any{"fill-42", "session", "v", now, "grp-x", now * 1e6, []byte(`{"ua":"x"}`)}},
			{"joinWithInfo", []any{"fill-42", "session", "v", now, "grp-x", now * 1e6}},
		}
		// What a full scan looks like in each database's plan.
		scan := map[sqlstore.Dialect]*regexp.Regexp{
			sqlstore.Postgres: regexp.MustCompile(`Seq Scan`),
			sqlstore.MySQL:    regexp.MustCompile(`type=(ALL|index)\b`), // a full table or index scan
			sqlstore.SQLite:   regexp.MustCompile(`(?m)^SCAN \w+$`),
		}[d]
		t.Run("control", func(t *testing.T) {
			// A query on the unindexed data column must look like a scan,
			// or the checks below prove nothing.
			p := plan(t, db, d, "SELECT sid, data FROM "+table+" WHERE data = "+ph(d), "nothing")
			if !scan.MatchString(p) {
				t.Fatalf("the scan pattern %v does not match an unindexed query's plan:\n%s", scan, p)
			}
		})
		for _, tt := range tests {
			if q[tt.query] == "" {
				continue // not used by this dialect
			}
			t.Run(tt.query, func(t *testing.T) {
				p := plan(t, db, d, q[tt.query], tt.args...)
				t.Logf("plan of %s:\n%s", tt.query, p)
				// MySQL's plan of an INSERT names its table with type ALL:
				// the upsert finds its row by the primary key all the same.
				insert := d == sqlstore.MySQL && strings.HasPrefix(q[tt.query], "INSERT")
				if scan.MatchString(p) && !insert {
					t.Errorf("%s scans a table:\n%s", tt.query, p)
				}
				for query, index := range map[string]string{"cleanup": "_exp_idx", "cleanInfo": "_gi_exp", "cleanLocks": "_lim_exp"} {
					if tt.query == query && !strings.Contains(p, index) {
						t.Errorf("%s does not use the exp index %s:\n%s", query, index, p)
					}
				}
				if strings.HasPrefix(tt.query, "deleteGroup") && !strings.Contains(p, "_grp_idx") {
					t.Errorf("%s does not use the grp index:\n%s", tt.query, p)
				}
			})
		}
	})
}

// ph is the first placeholder of d.
func ph(d sqlstore.Dialect) string {
	if d == sqlstore.Postgres {
		return "$1"
	}
	return "?"
}
