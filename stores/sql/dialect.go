package sqlstore

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

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
	// Expiry is a TIMESTAMP WITH TIME ZONE in whole seconds, written and
	// compared as lua-resty-session does (TO_TIMESTAMP(unix) AT TIME ZONE
	// 'UTC').
	Postgres = Dialect{name: "postgres", kind: kindPostgres}

	// MySQL is the dialect of MySQL 5.7+ and MariaDB 10.3+, with the driver
	// github.com/go-sql-driver/mysql. Expiry is a DATETIME in whole seconds,
	// written and compared as lua-resty-session does (FROM_UNIXTIME(unix),
	// the connection's time zone). The store's transactions run at READ
	// COMMITTED.
	MySQL = Dialect{name: "mysql", kind: kindMySQL}

	// MariaDB is the same dialect as MySQL.
	MariaDB = MySQL

	// SQLite is the dialect of SQLite 3.35 and later, for example with the
	// pure Go driver modernc.org/sqlite ("sqlite") or
	// github.com/mattn/go-sqlite3. SQLite has no time type: expiry is an
	// INTEGER of Unix seconds.
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

// at returns the SQL of the expiry time whose Unix seconds are the i-th
// parameter, the way lua-resty-session writes it: an exp column compared
// with or set to it holds what the reference's statements hold.
func (d Dialect) at(i int) string {
	switch d.kind {
	case kindPostgres:
		return "(TO_TIMESTAMP(" + d.ph(i) + ") AT TIME ZONE 'UTC')"
	case kindMySQL:
		return "FROM_UNIXTIME(?)"
	}
	return "?"
}

// unix returns the SQL that reads the exp column col as Unix seconds, the
// inverse of at.
func (d Dialect) unix(col string) string {
	switch d.kind {
	case kindPostgres:
		return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + "::timestamp)) AS BIGINT)"
	case kindMySQL:
		return "CAST(UNIX_TIMESTAMP(" + col + ") AS SIGNED)"
	}
	return col
}

// queries holds the statements of a Store, built once by New. A record is
// live while its exp is at or after the session library's now, in whole
// seconds, as lua-resty-session reads it (exp >= now); the parameter named
// now below is that second.
//
// The statements that lock a record of a group (claim, shorten, retire,
// deleteRow) return the record's group on PostgreSQL and SQLite
// (RETURNING). MySQL has no UPDATE ... RETURNING: there lock (or lockAny)
// first reads the group under a row lock, and the statement then only
// writes. Each takes the same arguments on every database.
type queries struct {
	get     string // sid, name, now -> data
	exists  string // sid, name, now -> 1
	nameOf  string // sid -> name
	insert  string // sid, name, data, exp, grp; an existing record of that name keeps its group (or gets grp)
	join    string // sid, name, data, exp, grp; an existing record of that name moves to grp
	replace string // data, sid, name, now

	lock    string // MySQL: sid, name, now -> grp, locking the live record
	lockAny string // MySQL: sid, name -> grp, locking the record, live or not
	claim   string // grp, sid, name, now: a live record without a group gets grp
	shorten string // stale exp, grp, sid, name, now: exp = min(exp, stale exp), and claim
	retire  string // sid, name, now: delete the live record

	deleteRow       string // sid, name
	deleteGroup     string // grp
	deleteMeta      string // sid, name (SQLite: no reliance on PRAGMA foreign_keys)
	retireMeta      string // sid, name, now (SQLite)
	deleteSidMeta   string // sid (SQLite)
	deleteGroupMeta string // grp (SQLite)

	pruneScan   string // aud, sub, now -> sid, live record's sid or NULL: index rows of records gone or expired
	pruneRecord string // sid, now: delete the expired record (its index rows go with it)
	pruneRow    string // aud, sub, sid: an index row without a record
	list        string // aud, sub, name, now -> sid, exp (Unix seconds)
	cleanup     string // now
	cleanMeta   string // now (SQLite)

	groupInfo  string                   // sid, name, now -> grp, created, seen, facts (groupinfo.go)
	withInfo   map[infoStatement]string // PostgreSQL: insert and join that write the group info too
	info       string                   // seen, seen, facts, sid: the group info of the record sid
	infoKeep   string                   // seen, seen, sid: the same, keeping the group's facts
	deleteInfo string                   // grp
	cleanInfo  string                   // now

	lockPair   string // aud, sub, exp: create or lock the pair's lock row (limit.go)
	limitList  string // aud, sub, name, now -> sid, grp, exp (Unix seconds)
	cleanLocks string // now
}

func (d Dialect) queries(t names) queries {
	p := d.ph
	const s, m = "sessiongo_s", "sessiongo_m" // aliases
	record := " WHERE sid = " + p(1) + " AND name = " + p(2)
	q := queries{
		get:     "SELECT data FROM " + t.table + record + " AND exp >= " + d.at(3),
		exists:  "SELECT 1 FROM " + t.table + record + " AND exp >= " + d.at(3),
		nameOf:  "SELECT name FROM " + t.table + " WHERE sid = " + p(1),
		replace: "UPDATE " + t.table + " SET data = " + p(1) + " WHERE sid = " + p(2) + " AND name = " + p(3) + " AND exp >= " + d.at(4),
		claim: "UPDATE " + t.table + " SET grp = COALESCE(grp, " + p(1) + ") WHERE sid = " + p(2) + " AND name = " + p(3) +
			" AND exp >= " + d.at(4),
		shorten: "UPDATE " + t.table + " SET exp = " + d.least("exp", d.at(1)) + ", grp = COALESCE(grp, " + p(2) + ")" +
			" WHERE sid = " + p(3) + " AND name = " + p(4) + " AND exp >= " + d.at(5),
		retire:      "DELETE FROM " + t.table + record + " AND exp >= " + d.at(3),
		deleteRow:   "DELETE FROM " + t.table + record,
		deleteGroup: "DELETE FROM " + t.table + " WHERE grp = " + p(1),
		pruneScan: "SELECT " + m + ".sid, " + s + ".sid FROM " + t.meta + " " + m +
			" LEFT JOIN " + t.table + " " + s + " ON " + s + ".sid = " + m + ".sid" +
			" WHERE " + m + ".aud = " + p(1) + " AND " + m + ".sub = " + p(2) +
			" AND (" + s + ".sid IS NULL OR " + s + ".exp < " + d.at(3) + ")",
		pruneRecord: "DELETE FROM " + t.table + " WHERE sid = " + p(1) + " AND exp < " + d.at(2),
		pruneRow:    "DELETE FROM " + t.meta + " WHERE aud = " + p(1) + " AND sub = " + p(2) + " AND sid = " + p(3),
		list: "SELECT " + s + ".sid, " + d.unix(s+".exp") + " FROM " + t.meta + " " + m + " JOIN " + t.table + " " + s +
			" ON " + s + ".sid = " + m + ".sid" +
			" WHERE " + m + ".aud = " + p(1) + " AND " + m + ".sub = " + p(2) + " AND " + s + ".name = " + p(3) +
			" AND " + s + ".exp >= " + d.at(4) + " ORDER BY " + s + ".exp, " + s + ".sid",
		cleanup: "DELETE FROM " + t.table + " WHERE exp < " + d.at(1),
	}
	if d.kind == kindMySQL {
		q.lock = "SELECT grp FROM " + t.table + record + " AND exp >= FROM_UNIXTIME(?) FOR UPDATE"
		q.lockAny = "SELECT grp FROM " + t.table + record + " FOR UPDATE"
	} else {
		for _, stmt := range []*string{&q.claim, &q.shorten, &q.retire, &q.deleteRow} {
			*stmt += " RETURNING grp"
		}
	}
	const cols = " (sid, name, data, exp, grp) VALUES (" // then the values
	// An upsert only ever changes a record of the same cookie name: a key
	// taken under another name is left alone (no row changes), and Set
	// reports it.
	switch d.kind {
	// A record rewritten in place (insert) keeps its group, and one without
	// a group (a row of the reference) gets the fresh one, so that every
	// record a save writes has a group to keep its info under.
	case kindPostgres:
		upsert := "INSERT INTO " + t.table + " AS " + s + cols + "$1, $2, $3, " + d.at(4) + ", $5)" +
			" ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp"
		same := " WHERE " + s + ".name = EXCLUDED.name"
		q.insert = upsert + ", grp = COALESCE(" + s + ".grp, EXCLUDED.grp)" + same
		q.join = upsert + ", grp = EXCLUDED.grp" + same
	case kindMySQL:
		// MySQL counts the rows it changed: 0 both for a key under another
		// name and for a rewrite with the same values (nameOf tells them
		// apart). The reference's own upsert updates data only.
		same := "name = VALUES(name)"
		upsert := "INSERT INTO " + t.table + cols + "?, ?, ?, FROM_UNIXTIME(?), ?)" +
			" ON DUPLICATE KEY UPDATE data = IF(" + same + ", VALUES(data), data), exp = IF(" + same + ", VALUES(exp), exp)"
		q.insert = upsert + ", grp = IF(" + same + ", COALESCE(grp, VALUES(grp)), grp)"
		q.join = upsert + ", grp = IF(" + same + ", VALUES(grp), grp)"
	case kindSQLite:
		upsert := "INSERT INTO " + t.table + cols + "?, ?, ?, ?, ?)" +
			" ON CONFLICT (sid) DO UPDATE SET data = excluded.data, exp = excluded.exp"
		same := " WHERE " + t.tableBase + ".name = excluded.name"
		q.insert = upsert + ", grp = COALESCE(" + t.tableBase + ".grp, excluded.grp)" + same
		q.join = upsert + ", grp = excluded.grp" + same
		q.deleteMeta = "DELETE FROM " + t.meta + " WHERE sid IN (SELECT sid FROM " + t.table + " WHERE sid = ? AND name = ?)"
		q.retireMeta = "DELETE FROM " + t.meta + " WHERE sid IN (SELECT sid FROM " + t.table +
			" WHERE sid = ? AND name = ? AND exp >= ?)"
		q.deleteSidMeta = "DELETE FROM " + t.meta + " WHERE sid = ?"
		q.deleteGroupMeta = "DELETE FROM " + t.meta + " WHERE sid IN (SELECT sid FROM " + t.table + " WHERE grp = ?)"
		q.cleanMeta = "DELETE FROM " + t.meta + " WHERE sid IN (SELECT sid FROM " + t.table + " WHERE exp < ?)"
	}
	d.groupInfoQueries(t, &q)
	d.withInfoQueries(t, &q)
	d.limitQueries(t, &q)
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

// insertMeta returns the statement that adds n index rows (aud, sub, sid),
// keeping rows that are already there, as lua-resty-session does.
func (d Dialect) insertMeta(t names, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(t.meta)
	b.WriteString(" (aud, sub, sid) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + d.ph(3*i+1) + ", " + d.ph(3*i+2) + ", " + d.ph(3*i+3) + ")")
	}
	if d.kind == kindMySQL {
		b.WriteString(" ON DUPLICATE KEY UPDATE sid = sid")
	} else {
		b.WriteString(" ON CONFLICT DO NOTHING")
	}
	return b.String()
}
