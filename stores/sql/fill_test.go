package sqlstore_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	sqlstore "github.com/sessiongo/session/stores/sql"
)

// fill bulk-inserts n live sessions named "fill-<i>" of cookie "session",
// expiring between base+1s and base+1d, with 200 characters of data, in groups
// of two ("grp-<i/2>", each with its group info), each in the subject index
// of audience "aud" and subject "user-<i>" (each with the lock row of the
// cap), then refreshes the planner's statistics.
func fill(tb testing.TB, db *sql.DB, d sqlstore.Dialect, table string, n int, base time.Time) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	meta, groups, limits := table+"_meta", table+"_groups", table+"_limits"
	exec := func(q string, args ...any) {
		tb.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			tb.Fatalf("fill: %v\n%s", err, q)
		}
	}
	start := time.Now()
	switch d {
	case sqlstore.Postgres:
		exec("INSERT INTO "+table+" (sid, name, data, exp, grp) SELECT 'fill-' || g, 'session', repeat('x', 200),"+
			" $1::timestamptz + (1 + g % 86400) * interval '1 second', 'grp-' || g / 2 FROM generate_series(1, $2::int) g",
			base, n)
		exec("INSERT INTO "+meta+" (aud, sub, sid) SELECT 'aud', 'user-' || g, 'fill-' || g"+
			" FROM generate_series(1, $1::int) g", n)
		exec("INSERT INTO " + groups + " (grp, created, seen, facts, exp) SELECT grp, 1, 1, NULL, MAX(exp)" +
			" FROM " + table + " GROUP BY grp")
		exec("INSERT INTO "+limits+" (aud, sub, exp) SELECT 'aud', 'user-' || g,"+
			" $1::timestamptz + (1 + g % 86400) * interval '1 second' FROM generate_series(1, $2::int) g", base, n)
		for _, tb := range []string{table, meta, groups, limits} {
			exec("ANALYZE " + tb)
		}
	case sqlstore.MySQL:
		// MariaDB's SEQUENCE engine makes the rows; MySQL would need a
		// recursive CTE instead.
		seq := "seq_1_to_" + strconv.Itoa(n)
		exec("INSERT INTO "+table+" (sid, name, data, exp, grp) SELECT CONCAT('fill-', seq), 'session', REPEAT('x', 200),"+
			" ? + INTERVAL (1 + seq % 86400) SECOND, CONCAT('grp-', seq DIV 2) FROM "+seq, base.UTC())
		exec("INSERT INTO " + meta + " (aud, sub, sid) SELECT 'aud', CONCAT('user-', seq), CONCAT('fill-', seq) FROM " + seq)
		exec("INSERT INTO " + groups + " (grp, created, seen, facts, exp) SELECT grp, 1, 1, NULL, MAX(exp) FROM " + table + " GROUP BY grp")
		exec("INSERT INTO "+limits+" (aud, sub, exp) SELECT 'aud', CONCAT('user-', seq), ? + INTERVAL (1 + seq % 86400) SECOND FROM "+seq,
			base.UTC())
		exec("ANALYZE TABLE " + table + ", " + meta + ", " + groups + ", " + limits)
	case sqlstore.SQLite:
		exec("INSERT INTO "+table+" (sid, name, data, exp, grp) WITH RECURSIVE c(x) AS"+
			" (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"+
			" SELECT 'fill-' || x, 'session', printf('%.200c', 'x'), ? + 1 + x % 86400, 'grp-' || (x / 2) FROM c",
			n, base.Unix())
		exec("INSERT INTO "+meta+" (aud, sub, sid) WITH RECURSIVE c(x) AS"+
			" (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"+
			" SELECT 'aud', 'user-' || x, 'fill-' || x FROM c", n)
		exec("INSERT INTO " + groups + " (grp, created, seen, facts, exp) SELECT grp, 1, 1, NULL, MAX(exp) FROM " + table + " GROUP BY grp")
		exec("INSERT INTO "+limits+" (aud, sub, exp) WITH RECURSIVE c(x) AS"+
			" (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"+
			" SELECT 'aud', 'user-' || x, ? + 1 + x % 86400 FROM c", n, base.Unix())
		exec("ANALYZE")
	default:
		tb.Fatalf("fill: unknown dialect %v", d)
	}
	tb.Logf("filled %s with %d rows in %v", table, n, time.Since(start).Round(time.Millisecond))
}

// plan returns the database's plan of query with args, one line per row.
func plan(tb testing.TB, db *sql.DB, d sqlstore.Dialect, query string, args ...any) string {
	tb.Helper()
	prefix := "EXPLAIN "
	if d == sqlstore.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.Query(prefix+query, args...)
	if err != nil {
		tb.Fatalf("%s%s: %v", prefix, query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		var fields []string
		for i, c := range cols {
			switch {
			case d == sqlstore.MySQL && (c == "table" || c == "type" || c == "key"):
				fields = append(fields, c+"="+vals[i].String)
			case d != sqlstore.MySQL && len(cols) == 1 || c == "detail":
				fields = append(fields, vals[i].String)
			}
		}
		lines = append(lines, strings.Join(fields, " "))
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
