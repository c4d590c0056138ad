package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	sqlstore "github.com/sessiongo/session/stores/sql"
)

// The store vectors of lua-resty-session 4.1.5 for PostgreSQL and MySQL
// (testdata/README.md says where they come from).
const vectorsFile = "testdata/stores-sql-lua-resty-session-4.1.5.json"

type vectorFile struct {
	DDL     map[string]string `json:"ddl"` // "postgres", "mysql": the reference's tables
	Vectors []vector          `json:"vectors"`
}

type vector struct {
	Name     string          `json:"name"`
	Storage  string          `json:"storage"` // postgres, mysql, mysql-unpatched
	Scenario string          `json:"scenario"`
	Pin      string          `json:"pin"` // ids are SHA-256(pin + ":" + n)
	Config   json.RawMessage `json:"config"`
	Steps    []vectorStep    `json:"steps"`
}

type vectorStep struct {
	Cmd       string          `json:"cmd"` // make, open, save, start, logout, destroy
	Data      map[string]any  `json:"data"`
	Subject   *string         `json:"subject"`
	OpenFirst bool            `json:"open_first"`
	Config    json.RawMessage `json:"config"` // merged over the vector's
	Request   struct {
		Time         int64   `json:"time"`
		CookieHeader *string `json:"cookie_header"`
	} `json:"request"`
	Result struct {
		OK       *bool          `json:"ok"`
		Err      *string        `json:"err"`
		Exists   *bool          `json:"exists"`
		OpenErr  *string        `json:"open_err"`
		Data     map[string]any `json:"data"`
		Audience *string        `json:"audience"`
		Subject  *string        `json:"subject"`
	} `json:"result"`
	Sids []struct {
		N   int    `json:"n"`
		Sid string `json:"sid"`
	} `json:"sids"`
	SetCookie    []string          `json:"set_cookie"`
	JarAfter     map[string]string `json:"jar_after"`
	StorageCalls []struct {
		Method string `json:"method"`
		Args   struct {
			Key         string `json:"key"`
			Name        string `json:"name"`
			OldKey      string `json:"old_key"`
			TTL         int64  `json:"ttl"`
			CurrentTime int64  `json:"current_time"`
		} `json:"args"`
	} `json:"storage_calls"`
	SQL []struct {
		Statement string          `json:"statement"`
		Returned  json.RawMessage `json:"returned"`
	} `json:"sql"`
	Store struct {
		After []vectorRow `json:"after"`
	} `json:"store"`
}

// vectorRow is a row of either table as the vectors record it.
type vectorRow struct {
	Table string `json:"table"` // sessions, sessions_meta
	Sid   string `json:"sid"`
	Name  string `json:"name"`
	Data  string `json:"data"`
	ExpAt int64  `json:"exp_at"`
	Aud   string `json:"aud"`
	Sub   string `json:"sub"`
}

func (r vectorRow) String() string {
	if r.Table == "sessions" {
		return fmt.Sprintf("sessions(%s, %s, %.24s…, exp %d)", r.Sid, r.Name, r.Data, r.ExpAt)
	}
	return fmt.Sprintf("sessions_meta(%s, %s, %s)", r.Aud, r.Sub, r.Sid)
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("the store vectors: %v", err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	if len(v.Vectors) != 7 || v.DDL["postgres"] == "" || v.DDL["mysql"] == "" {
		t.Fatalf("%s holds %d vectors and DDL for %d databases; want 7 and 2", vectorsFile, len(v.Vectors), len(v.DDL))
	}
	return v
}

// dialectOf returns the dialect of a vector's storage.
func dialectOf(storage string) sqlstore.Dialect {
	if storage == "postgres" {
		return sqlstore.Postgres
	}
	return sqlstore.MySQL
}

// renameTables rewrites the table names sessions and sessions_meta in the
// SQL of a vector (outside its quoted values) to table and table_meta.
func renameTables(stmt, table string) string {
	parts := strings.Split(stmt, "'")
	for i := 0; i < len(parts); i += 2 { // outside quotes
		parts[i] = replaceWord(parts[i], "sessions_meta", table+"_meta")
		parts[i] = replaceWord(parts[i], "sessions", table)
	}
	return strings.Join(parts, "'")
}

// replaceWord replaces the identifier word in s, where it is not part of a
// longer identifier.
func replaceWord(s, word, with string) string {
	ident := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], word) && (i == 0 || !ident(s[i-1])) &&
			(i+len(word) == len(s) || !ident(s[i+len(word)])) {
			b.WriteString(with)
			i += len(word)
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// referenceTables makes a pair of tables with the DDL of the reference
// (the vectors' ddl) under a random name, dropped when the test ends.
func referenceTables(t testing.TB, db *sql.DB, ddl string) string {
	t.Helper()
	table := "sessions_" + randomSuffix()
	t.Cleanup(func() {
		// Migrate may have added the store's own tables.
		for _, tb := range []string{table + "_meta", table, table + "_revoked", table + "_groups", table + "_limits"} {
			db.Exec("DROP TABLE IF EXISTS " + tb)
		}
	})
	for _, stmt := range strings.Split(strings.TrimSpace(ddl), ";\n") {
		stmt = strings.TrimSuffix(strings.TrimSpace(stmt), ";")
		if stmt == "" {
			continue
		}
		if _, err := db.Exec(renameTables(stmt, table)); err != nil {
			t.Fatalf("the reference's DDL: %v\n%s", err, stmt)
		}
	}
	return table
}

// readRows returns every row of both tables, in the order of sortRows.
func readRows(t testing.TB, db *sql.DB, d sqlstore.Dialect, table string) []vectorRow {
	t.Helper()
	var rows []vectorRow
	q := "SELECT sid, name, data, " + unix(d, "exp") + " FROM " + table
	r, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		row := vectorRow{Table: "sessions"}
		if err := r.Scan(&row.Sid, &row.Name, &row.Data, &row.ExpAt); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	r.Close()
	r, err = db.Query("SELECT aud, sub, sid FROM " + table + "_meta")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		row := vectorRow{Table: "sessions_meta"}
		if err := r.Scan(&row.Aud, &row.Sub, &row.Sid); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	r.Close()
	sortRows(rows)
	return rows
}

func sortRows(rows []vectorRow) {
	slices.SortFunc(rows, func(a, b vectorRow) int {
		return strings.Compare(a.Table+"|"+a.Sid+"|"+a.Aud+"|"+a.Sub, b.Table+"|"+b.Sid+"|"+b.Aud+"|"+b.Sub)
	})
}

// diffRows reports the rows in want but not in got and the other way
// round; exp may differ by slack seconds.
func diffRows(got, want []vectorRow, slack int64) (missing, extra []vectorRow) {
	match := func(a, b vectorRow) bool {
		d := a.ExpAt - b.ExpAt
		return a.Table == b.Table && a.Sid == b.Sid && a.Name == b.Name && a.Data == b.Data &&
			a.Aud == b.Aud && a.Sub == b.Sub && d >= -slack && d <= slack
	}
	used := make([]bool, len(got))
outer:
	for _, w := range want {
		for i, g := range got {
			if !used[i] && match(g, w) {
				used[i] = true
				continue outer
			}
		}
		missing = append(missing, w)
	}
	for i, g := range got {
		if !used[i] {
			extra = append(extra, g)
		}
	}
	return missing, extra
}

// wantRows fails the test when got and want differ.
func wantRows(t testing.TB, what string, got, want []vectorRow, slack int64) {
	t.Helper()
	missing, extra := diffRows(got, want, slack)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("%s: rows differ\n\tmissing: %v\n\textra:   %v", what, missing, extra)
	}
}

// TestReferenceStatements runs every statement lua-resty-session 4.1.5 ran
// in the store vectors, step by step, on the tables of this store (made by
// Migrate), and on the reference's own tables once Migrate has added the
// grp column and the indexes: each statement must work, each SELECT must
// return what it returned to the reference, and after each step the tables
// must hold exactly the rows the reference left. The reference's MySQL
// upsert of 4.1.5 (MySQL 8.0.19's INSERT ... AS new) is a syntax error on
// MariaDB (mysql-unpatched:login).
func TestReferenceStatements(t *testing.T) {
	v := loadVectors(t)
	for _, server := range []struct {
		name  string
		open  func(testing.TB) *sql.DB
		d     sqlstore.Dialect
		store string // the vectors' storage
	}{
		{"postgres", openPostgres, sqlstore.Postgres, "postgres"},
		{"mariadb", openMySQL, sqlstore.MySQL, "mysql"},
	} {
		t.Run(server.name, func(t *testing.T) {
			db := server.open(t)
			for _, tables := range []string{"store tables", "reference tables"} {
				t.Run(tables, func(t *testing.T) {
					for _, vec := range v.Vectors {
						if !strings.HasPrefix(vec.Storage, server.store) {
							continue
						}
						t.Run(vec.Name, func(t *testing.T) {
							var table string
							if tables == "store tables" {
								_, table = newStore(t, db, server.d)
							} else {
								table = referenceTables(t, db, v.DDL[server.store])
								if err := sqlstore.Migrate(context.Background(), db, server.d, sqlstore.WithTable(table)); err != nil {
									t.Fatal(err)
								}
							}
							replay(t, db, server.d, table, vec)
						})
					}
				})
			}
		})
	}
}

// replay runs the statements of each step of vec on table.
func replay(t *testing.T, db *sql.DB, d sqlstore.Dialect, table string, vec vector) {
	var version string
	if err := db.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	for i, st := range vec.Steps {
		for _, q := range st.SQL {
			var returned []json.RawMessage
			if err := json.Unmarshal(q.Returned, &returned); err != nil || len(returned) != 2 {
				t.Fatalf("step %d: returned %s", i, q.Returned)
			}
			stmts := strings.Split(q.Statement, ";\n")
			if vec.Storage == "mysql-unpatched" {
				_, err := db.Exec(renameTables(stmts[0], table))
				if strings.Contains(version, "MariaDB") {
					if err == nil || !strings.Contains(err.Error(), "1064") {
						t.Fatalf("step %d: MariaDB ran 4.1.5's INSERT ... AS new: %v; want a syntax error (1064)", i, err)
					}
					break // the reference's multi-statement query stopped there
				}
				if err != nil {
					t.Fatalf("step %d: MySQL rejected 4.1.5's INSERT ... AS new: %v", i, err)
				}
				stmts = stmts[1:]
			}
			var affected []int64 // what the reference's driver said, statement by statement
			var results []map[string]any
			if json.Unmarshal(returned[0], &results) == nil && len(results) > 0 && results[0]["affected_rows"] != nil {
				for _, r := range results {
					affected = append(affected, int64(r["affected_rows"].(float64)))
				}
			}
			var single map[string]any
			if json.Unmarshal(returned[0], &single) == nil {
				affected = []int64{int64(single["affected_rows"].(float64))}
			}
			for j, stmt := range stmts {
				stmt = renameTables(stmt, table)
				if strings.HasPrefix(stmt, "SELECT ") {
					got := query(t, db, stmt)
					var want []map[string]any
					if err := json.Unmarshal(returned[0], &want); err != nil {
						t.Fatal(err)
					}
					if len(got) != len(want) || len(got) == 1 && got[0]["data"] != want[0]["data"] {
						t.Fatalf("step %d: %s\n\treturned %v; the reference's %v", i, stmt, got, want)
					}
					continue
				}
				res, err := db.Exec(stmt)
				if err != nil {
					t.Fatalf("step %d: the reference's statement fails on these tables: %v\n%s", i, err, stmt)
				}
				if j < len(affected) && (d != sqlstore.MySQL || j == 0) { // MySQL: only the first result was read
					if n, err := res.RowsAffected(); err != nil || n != affected[j] {
						t.Fatalf("step %d: %s\n\taffected %d rows (%v); the reference's %d", i, stmt, n, err, affected[j])
					}
				}
			}
		}
		want := slices.Clone(st.Store.After)
		sortRows(want)
		wantRows(t, fmt.Sprintf("after step %d (%s)", i, st.Cmd), readRows(t, db, d, table), want, 0)
	}
}

// query runs a SELECT and returns its rows as maps of strings.
func query(t *testing.T, db *sql.DB, stmt string) []map[string]any {
	t.Helper()
	rows, err := db.Query(stmt)
	if err != nil {
		t.Fatalf("the reference's statement fails on these tables: %v\n%s", err, stmt)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []map[string]any
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for i, c := range cols {
			m[c] = vals[i].String
		}
		out = append(out, m)
	}
	return out
}
