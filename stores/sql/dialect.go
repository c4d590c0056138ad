package sqlstore

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	session "github.com/sessiongo/session/core"
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
	// without, both work. The store's transactions run at READ COMMITTED.
	MySQL = Dialect{name: "mysql", kind: kindMySQL}

	// MariaDB is the same dialect as MySQL.
	MariaDB = MySQL

	// SQLite is the dialect of SQLite 3.35 and later, for example with the
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

var errInvalidDialect = fmt.Errorf("sqlstore: invalid dialect (use sqlstore.Postgres, MySQL or SQLite): %w",
	session.ErrInvalidConfig)

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
// The first statement creates the sessions table; Migrate upgrades an
// older one (see upgrade) before it runs the others.
func (d Dialect) schema(t names) []string {
	switch d.kind {
	case kindPostgres:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t.table + " (\n" +
				"  sid  TEXT NOT NULL,\n" +
				"  name TEXT NOT NULL,\n" +
				"  data BYTEA NOT NULL,\n" +
				"  exp  TIMESTAMP WITH TIME ZONE NOT NULL,\n" +
				"  grp  TEXT, -- the browser session's group; NULL: a group of its own\n" +
				"  PRIMARY KEY (sid, name)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + "_exp_idx ON " + t.table + " (exp)",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + "_grp_idx ON " + t.table + " (grp)",
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
				"  grp  VARCHAR(64) NULL, -- the browser session's group; NULL: a group of its own\n" +
				"  PRIMARY KEY (sid, name),\n" +
				"  INDEX " + t.tableBase + "_exp_idx (exp),\n" +
				"  INDEX " + t.tableBase + "_grp_idx (grp)\n" +
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
				"  grp  TEXT, -- the browser session's group; NULL: a group of its own\n" +
				"  PRIMARY KEY (sid, name)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + "_exp_idx ON " + t.tableBase + " (exp)",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + "_grp_idx ON " + t.tableBase + " (grp)",
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

// upgrade returns the statements that bring a sessions table created
// before record groups (without the grp column) to the current layout:
// the column, NULL in every existing row, and its index.
func (d Dialect) upgrade(t names) []string {
	switch d.kind {
	case kindPostgres:
		return []string{
			"ALTER TABLE " + t.table + " ADD COLUMN grp TEXT",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + "_grp_idx ON " + t.table + " (grp)",
		}
	case kindMySQL:
		return []string{
			"ALTER TABLE " + t.table + " ADD COLUMN grp VARCHAR(64) NULL, ADD INDEX " + t.tableBase + "_grp_idx (grp)",
		}
	case kindSQLite:
		return []string{
			"ALTER TABLE " + t.table + " ADD COLUMN grp TEXT",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + "_grp_idx ON " + t.tableBase + " (grp)",
		}
	}
	return nil
}

// hasGroupColumn returns the query that counts the grp columns of the
// sessions table (1 in the current layout, 0 before record groups) and its
// arguments.
func (d Dialect) hasGroupColumn(t names) (string, []any) {
	schema := strings.TrimSuffix(t.schemaPrefix, ".")
	switch d.kind {
	case kindPostgres:
		// regclass resolves the name as the DDL did (search path, case folding).
		return "SELECT COUNT(*) FROM pg_attribute WHERE attrelid = $1::text::regclass" +
			" AND attname = 'grp' AND NOT attisdropped", []any{t.table}
	case kindMySQL:
		var db any // the connection's database unless the table names one
		if schema != "" {
			db = schema
		}
		return "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = COALESCE(?, DATABASE())" +
			" AND table_name = ? AND column_name = 'grp'", []any{db, t.tableBase}
	case kindSQLite:
		if schema != "" {
			return "SELECT COUNT(*) FROM pragma_table_info(?, ?) WHERE name = 'grp'", []any{t.tableBase, schema}
		}
		return "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = 'grp'", []any{t.tableBase}
	}
	return "", nil
}

// queries holds the statements of a Store, built once by New. Records are
// live while the session library's now is before exp.
//
// The statements that lock a record of a group (claim, shorten, retire,
// deleteRow) return the record's group on PostgreSQL and SQLite
// (RETURNING). MySQL has no UPDATE ... RETURNING: there lock (or lockAny)
// first reads the group under a row lock, and the statement then only
// writes. Each takes the same arguments on every database.
type queries struct {
	get     string // sid, name, now -> data
	exists  string // sid, name, now -> 1
	insert  string // sid, name, data, exp, grp; an existing record keeps its group
	join    string // sid, name, data, exp, grp; an existing record moves to grp
	replace string // data, sid, name, now

	lock    string // MySQL: sid, name, now -> grp, locking the live record
	lockAny string // MySQL: sid, name -> grp, locking the record, live or not
	claim   string // grp, sid, name, now: a live record without a group gets grp
	shorten string // stale exp, grp, sid, name, now: exp = min(exp, stale exp), and claim
	retire  string // sid, name, now: delete the live record

	deleteRow       string // sid, name
	deleteGroup     string // grp
	deleteMeta      string // sid, name (SQLite: no reliance on PRAGMA foreign_keys)
	deleteGroupMeta string // grp (SQLite)

	pruneScan string // aud, sub, now -> name, sid: index rows of records gone or expired
	pruneRow  string // aud, sub, name, sid
	list      string // aud, sub, name, now -> sid, exp
	cleanup   string // now
	cleanMeta string // now (SQLite)
}

func (d Dialect) queries(t names) queries {
	p := d.ph
	const s, m = "sessiongo_s", "sessiongo_m" // aliases
	record := " WHERE sid = " + p(1) + " AND name = " + p(2)
	q := queries{
		get:     "SELECT data FROM " + t.table + record + " AND exp > " + p(3),
		exists:  "SELECT 1 FROM " + t.table + record + " AND exp > " + p(3),
		replace: "UPDATE " + t.table + " SET data = " + p(1) + " WHERE sid = " + p(2) + " AND name = " + p(3) + " AND exp > " + p(4),
		claim: "UPDATE " + t.table + " SET grp = COALESCE(grp, " + p(1) + ") WHERE sid = " + p(2) + " AND name = " + p(3) +
			" AND exp > " + p(4),
		shorten: "UPDATE " + t.table + " SET exp = " + d.least("exp", p(1)) + ", grp = COALESCE(grp, " + p(2) + ")" +
			" WHERE sid = " + p(3) + " AND name = " + p(4) + " AND exp > " + p(5),
		retire:      "DELETE FROM " + t.table + record + " AND exp > " + p(3),
		deleteRow:   "DELETE FROM " + t.table + record,
		deleteGroup: "DELETE FROM " + t.table + " WHERE grp = " + p(1),
		pruneScan: "SELECT name, sid FROM " + t.meta + " WHERE aud = " + p(1) + " AND sub = " + p(2) +
			" AND NOT EXISTS (SELECT 1 FROM " + t.table + " " + s + " WHERE " + s + ".sid = " + t.metaBase + ".sid" +
			" AND " + s + ".name = " + t.metaBase + ".name AND " + s + ".exp > " + p(3) + ")",
		pruneRow: "DELETE FROM " + t.meta + " WHERE aud = " + p(1) + " AND sub = " + p(2) + " AND name = " + p(3) +
			" AND sid = " + p(4),
		list: "SELECT " + s + ".sid, " + s + ".exp FROM " + t.meta + " " + m + " JOIN " + t.table + " " + s +
			" ON " + s + ".sid = " + m + ".sid AND " + s + ".name = " + m + ".name" +
			" WHERE " + m + ".aud = " + p(1) + " AND " + m + ".sub = " + p(2) + " AND " + m + ".name = " + p(3) +
			" AND " + s + ".exp > " + p(4) + " ORDER BY " + s + ".exp, " + s + ".sid",
		cleanup: "DELETE FROM " + t.table + " WHERE exp <= " + p(1),
	}
	if d.kind == kindMySQL {
		q.lock = "SELECT grp FROM " + t.table + record + " AND exp > ? FOR UPDATE"
		q.lockAny = "SELECT grp FROM " + t.table + record + " FOR UPDATE"
	} else {
		for _, stmt := range []*string{&q.claim, &q.shorten, &q.retire, &q.deleteRow} {
			*stmt += " RETURNING grp"
		}
	}
	const cols = " (sid, name, data, exp, grp) VALUES (" // then the placeholders
	switch d.kind {
	case kindPostgres:
		q.insert = "INSERT INTO " + t.table + cols + "$1, $2, $3, $4, $5)" +
			" ON CONFLICT (sid, name) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp"
		q.join = q.insert + ", grp = EXCLUDED.grp"
	case kindMySQL:
		q.insert = "INSERT INTO " + t.table + cols + "?, ?, ?, ?, ?)" +
			" ON DUPLICATE KEY UPDATE data = VALUES(data), exp = VALUES(exp)"
		q.join = q.insert + ", grp = VALUES(grp)"
	case kindSQLite:
		q.insert = "INSERT INTO " + t.table + cols + "?, ?, ?, ?, ?)" +
			" ON CONFLICT (sid, name) DO UPDATE SET data = excluded.data, exp = excluded.exp"
		q.join = q.insert + ", grp = excluded.grp"
		q.deleteMeta = "DELETE FROM " + t.meta + " WHERE sid = ? AND name = ?"
		q.deleteGroupMeta = "DELETE FROM " + t.meta + " WHERE (sid, name) IN (SELECT sid, name FROM " + t.table +
			" WHERE grp = ?)"
		q.cleanMeta = "DELETE FROM " + t.meta + " WHERE (sid, name) IN (SELECT sid, name FROM " + t.table +
			" WHERE exp <= ?)"
	}
	return q
}

// txOptions returns the options of the store's transactions. On MySQL
// they run at READ COMMITTED, PostgreSQL's default: under InnoDB's
// REPEATABLE READ, a statement locks the gaps between the index rows it
// reads, where concurrent saves of the same subject insert theirs, and
// InnoDB then breaks the deadlocks by failing saves. Nothing here relies
// on gap locks: a save locks the record it joins, and Delete repeats its
// passes (see groups.go).
func (d Dialect) txOptions() *sql.TxOptions {
	if d.kind == kindMySQL {
		return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return nil
}

// least returns the SQL of the smaller of two values.
func (d Dialect) least(a, b string) string {
	if d.kind == kindSQLite {
		return "MIN(" + a + ", " + b + ")"
	}
	return "LEAST(" + a + ", " + b + ")"
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
