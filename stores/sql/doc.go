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
// a table sessions(sid, name, data, exp) keyed by the storage key and the
// cookie name, with an index on exp, and a subject index
// sessions_meta(aud, sub, name, sid) whose rows are deleted with their
// session (ON DELETE CASCADE). data is binary (BYTEA, MEDIUMBLOB, BLOB) and
// MySQL's key columns are ascii_bin, so keys that differ only in case never
// collide. Schema returns the DDL; the README prints it per database.
//
// Every query is parameterised; table names are validated identifiers.
// A save is one transaction: the new record is upserted, the expiry of the
// record it replaces is shortened to the stale TTL (never lengthened), and
// the subject index rows are added, so a failure leaves the previous
// session readable. Reads ignore expired rows, comparing against the
// session library's clock that travels in the store options rather than
// the database server's clock. Expired rows are deleted now and then on
// write (with probability 1/1000 by default, as the reference does), by an
// optional cleaner goroutine (WithCleanupInterval, ended by Stop), or by
// calling Cleanup.
package sqlstore
