package sqlstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialect describes one database's SQL: placeholders, the upsert and
// insert-or-ignore forms, column types and how expiry times are stored.
// Use the values Postgres, MySQL (also MariaDB) and SQLite; the zero Dialect
// is invalid and New rejects it. A Dialect imports no driver: the program
// imports the driver it opens its *sql.DB with.
type Dialect struct {
	name string
	kind dialectKind
}

type dialectKind int

const (
	kindInvalid dialectKind = iota
	kindPostgres
	kindMySQL
	kindSQLite
)

var (
	// Postgres is the dialect of PostgreSQL 9.5 and later, for example with
	// the driver github.com/jackc/pgx/v5/stdlib ("pgx") or github.com/lib/pq.
	// Expiry is a TIMESTAMP WITH TIME ZONE.
	Postgres = Dialect{name: "postgres", kind: kindPostgres}

	// MySQL is the dialect of MySQL 5.7+ and MariaDB 10.3+, with the driver
	// github.com/go-sql-driver/mysql. Expiry is a DATETIME(6) in UTC (the
	// driver's default loc): open the database with parseTime=true or
	// without, both work.
	MySQL = Dialect{name: "mysql", kind: kindMySQL}

	// MariaDB is the same dialect as MySQL.
	MariaDB = MySQL

	// SQLite is the dialect of SQLite 3.24 and later, for example with the
	// pure Go driver modernc.org/sqlite ("sqlite") or
	// github.com/mattn/go-sqlite3. SQLite has no time type: expiry is an
	// INTEGER of Unix microseconds.
	SQLite = Dialect{name: "sqlite", kind: kindSQLite}
)

// String returns the dialect's name: "postgres", "mysql" or "sqlite".
func (d Dialect) String() string {
	if d.kind == kindInvalid {
		return "invalid"
	}
	return d.name
}

func (d Dialect) valid() bool { return d.kind != kindInvalid }

// ph returns the placeholder of the i-th (1-based) parameter.
func (d Dialect) ph(i int) string {
	if d.kind == kindPostgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// timeArg converts t into the value bound to an exp parameter.
func (d Dialect) timeArg(t time.Time) any {
	switch d.kind {
	case kindSQLite:
		return t.UnixMicro()
	default:
		return t.UTC()
	}
}

// mysqlTimeLayout is how go-sql-driver/mysql returns a DATETIME without
// parseTime=true.
const mysqlTimeLayout = "2006-01-02 15:04:05.999999"

// scanTime converts a scanned exp column into a time.
func (d Dialect) scanTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v, nil
	case int64:
		return time.UnixMicro(v), nil
	case []byte:
		return time.ParseInLocation(mysqlTimeLayout, string(v), time.UTC)
	case string:
		return time.ParseInLocation(mysqlTimeLayout, v, time.UTC)
	}
	return time.Time{}, fmt.Errorf("unexpected type %T of column exp", v)
}

// schema returns the DDL statements that create the tables and indexes.
func (d Dialect) schema(t names) []string {
	switch d.kind {
	case kindPostgres:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t.table + " (\n" +
				"  sid  TEXT NOT NULL,\n" +
				"  name TEXT NOT NULL,\n" +
				"  data BYTEA NOT NULL,\n" +
				"  exp  TIMESTAMP WITH TIME ZONE NOT NULL,\n" +
				"  PRIMARY KEY (sid, name)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + "_exp_idx ON " + t.table + " (exp)",
			"CREATE TABLE IF NOT EXISTS " + t.meta + " (\n" +
				"  aud  TEXT NOT NULL,\n" +
				"  sub  TEXT NOT NULL,\n" +
				"  name TEXT NOT NULL,\n" +
				"  sid  TEXT NOT NULL,\n" +
				"  PRIMARY KEY (aud, sub, name, sid),\n" +
				"  FOREIGN KEY (sid, name) REFERENCES " + t.table + " (sid, name) ON DELETE CASCADE ON UPDATE CASCADE\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.metaBase + "_sid_idx ON " + t.meta + " (sid, name)",
		}
	case kindMySQL:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t.table + " (\n" +
				"  sid  VARCHAR(255) NOT NULL,\n" +
				"  name VARCHAR(255) NOT NULL,\n" +
				"  data MEDIUMBLOB NOT NULL,\n" +
				"  exp  DATETIME(6) NOT NULL,\n" +
				"  PRIMARY KEY (sid, name),\n" +
				"  INDEX " + t.tableBase + "_exp_idx (exp)\n" +
				") ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin",
			"CREATE TABLE IF NOT EXISTS " + t.meta + " (\n" +
				"  aud  VARCHAR(255) NOT NULL,\n" +
				"  sub  VARCHAR(255) NOT NULL,\n" +
				"  name VARCHAR(255) NOT NULL,\n" +
				"  sid  VARCHAR(255) NOT NULL,\n" +
				"  PRIMARY KEY (aud, sub, name, sid),\n" +
				"  INDEX " + t.metaBase + "_sid_idx (sid, name),\n" +
				"  CONSTRAINT " + t.metaBase + "_sid_fk FOREIGN KEY (sid, name) REFERENCES " + t.table + " (sid, name)\n" +
				"    ON DELETE CASCADE ON UPDATE CASCADE\n" +
				") ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin",
		}
	case kindSQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t.table + " (\n" +
				"  sid  TEXT NOT NULL,\n" +
				"  name TEXT NOT NULL,\n" +
				"  data BLOB NOT NULL,\n" +
				"  exp  INTEGER NOT NULL, -- Unix microseconds\n" +
				"  PRIMARY KEY (sid, name)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + "_exp_idx ON " + t.tableBase + " (exp)",
			"CREATE TABLE IF NOT EXISTS " + t.meta + " (\n" +
				"  aud  TEXT NOT NULL,\n" +
				"  sub  TEXT NOT NULL,\n" +
				"  name TEXT NOT NULL,\n" +
				"  sid  TEXT NOT NULL,\n" +
				"  PRIMARY KEY (aud, sub, name, sid),\n" +
				"  FOREIGN KEY (sid, name) REFERENCES " + t.tableBase + " (sid, name) ON DELETE CASCADE ON UPDATE CASCADE\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.metaBase + "_sid_idx ON " + t.metaBase + " (sid, name)",
		}
	}
	return nil
}

// queries holds the statements of a Store, built once by New. Records are
// live while the session library's now is before exp.
type queries struct {
	get        string // sid, name, now -> data
	upsert     string // sid, name, data, exp
	shorten    string // stale exp, old sid, name, stale exp
	deleteRow  string // sid, name
	deleteMeta string // sid, name (SQLite: no reliance on PRAGMA foreign_keys)
	prune      string // aud, sub, now
	list       string // aud, sub, name, now -> sid, exp
	cleanup    string // now
	cleanMeta  string // now (SQLite)
}

func (d Dialect) queries(t names) queries {
	p := d.ph
	const s, m = "sessiongo_s", "sessiongo_m" // aliases
	q := queries{
		get: "SELECT data FROM " + t.table + " WHERE sid = " + p(1) + " AND name = " + p(2) + " AND exp > " + p(3),
		shorten: "UPDATE " + t.table + " SET exp = " + p(1) + " WHERE sid = " + p(2) + " AND name = " + p(3) +
			" AND exp > " + p(4),
		deleteRow: "DELETE FROM " + t.table + " WHERE sid = " + p(1) + " AND name = " + p(2),
		prune: "DELETE FROM " + t.meta + " WHERE aud = " + p(1) + " AND sub = " + p(2) +
			" AND NOT EXISTS (SELECT 1 FROM " + t.table + " " + s + " WHERE " + s + ".sid = " + t.metaBase + ".sid" +
			" AND " + s + ".name = " + t.metaBase + ".name AND " + s + ".exp > " + p(3) + ")",
		list: "SELECT " + s + ".sid, " + s + ".exp FROM " + t.meta + " " + m + " JOIN " + t.table + " " + s +
			" ON " + s + ".sid = " + m + ".sid AND " + s + ".name = " + m + ".name" +
			" WHERE " + m + ".aud = " + p(1) + " AND " + m + ".sub = " + p(2) + " AND " + m + ".name = " + p(3) +
			" AND " + s + ".exp > " + p(4) + " ORDER BY " + s + ".exp, " + s + ".sid",
		cleanup: "DELETE FROM " + t.table + " WHERE exp <= " + p(1),
	}
	switch d.kind {
	case kindPostgres:
		q.upsert = "INSERT INTO " + t.table + " (sid, name, data, exp) VALUES ($1, $2, $3, $4)" +
			" ON CONFLICT (sid, name) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp"
	case kindMySQL:
		q.upsert = "INSERT INTO " + t.table + " (sid, name, data, exp) VALUES (?, ?, ?, ?)" +
			" ON DUPLICATE KEY UPDATE data = VALUES(data), exp = VALUES(exp)"
	case kindSQLite:
		q.upsert = "INSERT INTO " + t.table + " (sid, name, data, exp) VALUES (?, ?, ?, ?)" +
			" ON CONFLICT (sid, name) DO UPDATE SET data = excluded.data, exp = excluded.exp"
		q.deleteMeta = "DELETE FROM " + t.meta + " WHERE sid = ? AND name = ?"
		q.cleanMeta = "DELETE FROM " + t.meta + " WHERE (sid, name) IN (SELECT sid, name FROM " + t.table +
			" WHERE exp <= ?)"
	}
	return q
}

// insertMeta returns the statement that adds n index rows (aud, sub, name,
// sid), keeping rows that are already there.
func (d Dialect) insertMeta(t names, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(t.meta)
	b.WriteString(" (aud, sub, name, sid) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + d.ph(4*i+1) + ", " + d.ph(4*i+2) + ", " + d.ph(4*i+3) + ", " + d.ph(4*i+4) + ")")
	}
	if d.kind == kindMySQL {
		b.WriteString(" ON DUPLICATE KEY UPDATE sid = sid")
	} else {
		b.WriteString(" ON CONFLICT DO NOTHING")
	}
	return b.String()
}

// dropMeta returns the statement that removes a session from the index of
// n audience and subject pairs; its parameters are the sid and the name,
// then each pair's audience and subject.
func (d Dialect) dropMeta(t names, n int) string {
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	b.WriteString(t.meta)
	b.WriteString(" WHERE sid = " + d.ph(1) + " AND name = " + d.ph(2) + " AND (")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(aud = " + d.ph(2*i+3) + " AND sub = " + d.ph(2*i+4) + ")")
	}
	b.WriteString(")")
	return b.String()
}
