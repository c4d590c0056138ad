// Package sqlstore keeps sessiongo's server-side session records in a SQL
// database: PostgreSQL, MySQL / MariaDB or SQLite, through database/sql.
//
//	import sqlstore "github.com/sessiongo/session/stores/sql"
//
// The program opens its own *sql.DB with the driver of its choice (this
// package imports none) and names the dialect:
//
//	db, err := sql.Open("pgx", dsn) // import _ "github.com/jackc/pgx/v5/stdlib"
//	...
//	if err := sqlstore.Migrate(ctx, db, sqlstore.Postgres); err != nil { ... }
//	store, err := sqlstore.New(db, sqlstore.Postgres)
//	...
//	m, err := session.New(session.Config{Secret: secret, Store: store})
//
// The schema is lua-resty-session's, adapted to sessiongo's Store contract:
// a table sessions(sid, name, data, exp, grp) keyed by the storage key and
// the cookie name, with indexes on exp and grp, and a subject index
// sessions_meta(aud, sub, name, sid) whose rows are deleted with their
// session (ON DELETE CASCADE). data is binary (BYTEA, MEDIUMBLOB, BLOB) and
// MySQL's key columns are ascii_bin, so keys that differ only in case never
// collide. Schema returns the DDL; the README prints it per database, with
// the statements that upgrade tables of an earlier version (Migrate runs
// them itself).
//
// Revocation holds: grp puts the records of one browser session in one
// group (a saved record joins the group of the record it replaces, a
// remember cookie's record that of its partner), and Delete removes the
// whole group, stale records and forks included. A save whose old or
// partner record is gone stores nothing and fails with session.ErrNotFound,
// so a destroyed or revoked session never comes back from a cookie that
// was replaced.
//
// Every query is parameterised; table names are validated identifiers.
// A save is one transaction that locks the record it replaces, shortens
// its expiry to the stale TTL (never lengthened), upserts the new record
// and moves the subject index rows, so a failure leaves the previous
// session readable. Reads ignore expired rows, comparing against the
// session library's clock that travels in the store options rather than
// the database server's clock. Expired rows are deleted now and then on
// write (with probability 1/1000 by default, as the reference does), by an
// optional cleaner goroutine (WithCleanupInterval, ended by Stop), or by
// calling Cleanup.
package sqlstore
