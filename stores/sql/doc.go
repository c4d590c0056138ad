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
// The tables are lua-resty-session's: sessions(sid, name, data, exp) keyed
// by the storage key, data as text, and the subject index
// sessions_meta(aud, sub, sid), whose rows go with their session (ON DELETE
// CASCADE). Expiry is kept in whole seconds and written and compared with
// the reference's own SQL, so a Go service and an OpenResty or Kong front
// end read and write the same rows. sessiongo adds a nullable, indexed grp
// column (the record's group, which no statement of the reference touches),
// NOT NULL constraints, an index for the cascade and case-sensitive keys on
// MySQL, and three tables of its own that the reference never reads:
// <table>_groups (the group info of Manager.Devices), <table>_limits (the
// lock rows of the cap per user) and <table>_revoked (revocation marks).
// Schema returns the DDL; Migrate creates the tables, upgrades tables made
// with the reference's DDL (the grp column, the tables of sessiongo's own)
// and moves those of sessiongo's earlier layout; the README prints every
// statement.
//
// Revocation holds: grp puts the records of one browser session in one
// group (a saved record joins the group of the record it replaces, a
// remember cookie's record that of its partner), and Delete removes the
// whole group, stale records and forks included. A save whose old or
// partner record is gone stores nothing and fails with session.ErrNotFound,
// so a destroyed or revoked session never comes back from a cookie that
// was replaced.
//
// "Your devices" (store.GroupInfoReader): a signed-in save records the
// group's creation and last seen times and the client facts in
// <table>_groups, in the save's transaction (on PostgreSQL in the record's
// own upsert statement); the row goes with its group. The cap per user (store.SessionLimiter,
// Config.MaxSessionsPerSubject) is atomic on every database: a login's
// save first locks its user's row in <table>_limits (an upsert that
// inserts or locks it, so that the first two logins of a user wait for
// each other too), then counts the user's live browser sessions and
// refuses, or ends those that expire soonest, in the same transaction as
// the write.
//
// Every query is parameterised; table names are validated identifiers.
// A save is one transaction that locks the record it replaces, shortens
// its expiry to the stale TTL (never lengthened), upserts the new record
// and indexes it, so a failure leaves the previous session readable; a
// transaction that loses a deadlock, or meets SQLITE_BUSY, is run again.
// Reads ignore expired rows (a record is live while its expiry second is
// at or after the current one, as in lua-resty-session), comparing against
// the session library's clock that travels in the store options rather
// than the database server's clock. Expired rows are deleted now and then
// on write (with probability 1/1000 by default, as the reference does), by
// an optional cleaner goroutine (WithCleanupInterval, ended by Stop), or by
// calling Cleanup.
package sqlstore
