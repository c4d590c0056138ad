package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sessiongo/session/core/store"
)

var _ store.GroupInfoReader = (*Store)(nil)

// Group info (store.GroupInfoReader) lives in a table of its own beside
// the sessions table, "<table>_groups" ("sessions_groups"), which only
// sessiongo reads: one row per group of records (its grp), with the Unix
// microseconds of the group's first and latest save that carried a Seen
// time, the facts of the latest that carried facts, and the latest expiry
// of the records those saves wrote. A save with SetOptions.Seen (and not
// Replace) upserts the row in its own transaction, never in a round trip
// of its own: on PostgreSQL in the record's upsert statement (withInfo),
// elsewhere in the statement after it. Delete removes the
// row with its group; Cleanup removes the rows whose expiry has passed and
// whose group has no record left, whichever way its records went (expiry,
// Sessions' pruning, the reference's own cleanup). Migrate creates the
// table (groupInfoSchema follows the other statements of Schema).
const (
	groupsSuffix = "_groups"
	// groupsExpSuffix names the index on exp: "<table>_gi_exp", which fits
	// PostgreSQL's 63 characters with the longest table name (55).
	groupsExpSuffix = "_gi_exp"
)

// groupInfoSchema returns the statements that create the group info table
// and its index on exp.
func (d Dialect) groupInfoSchema(t names) []string {
	table := t.table + groupsSuffix
	switch d.kind {
	case kindPostgres:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  grp     TEXT PRIMARY KEY, -- the group of records (grp of the sessions table)\n" +
				"  created BIGINT NOT NULL, -- Unix microseconds: the group's first save with a time\n" +
				"  seen    BIGINT NOT NULL, -- Unix microseconds: its latest\n" +
				"  facts   BYTEA, -- the client facts of its latest save with facts; NULL: none\n" +
				"  exp     TIMESTAMP WITH TIME ZONE NOT NULL -- the latest expiry of its records saved with a time\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + groupsExpSuffix + " ON " + table + " (exp)",
		}
	case kindMySQL:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  grp     VARCHAR(64) NOT NULL, -- the group of records (grp of the sessions table)\n" +
				"  created BIGINT NOT NULL, -- Unix microseconds: the group's first save with a time\n" +
				"  seen    BIGINT NOT NULL, -- Unix microseconds: its latest\n" +
				"  facts   BLOB NULL, -- the client facts of its latest save with facts; NULL: none\n" +
				"  exp     DATETIME NOT NULL, -- the latest expiry of its records saved with a time\n" +
				"  PRIMARY KEY (grp),\n" +
				"  INDEX " + t.tableBase + groupsExpSuffix + " (exp)\n" +
				") ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin",
		}
	case kindSQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  grp     TEXT PRIMARY KEY NOT NULL, -- the group of records (grp of the sessions table)\n" +
				"  created INTEGER NOT NULL, -- Unix microseconds: the group's first save with a time\n" +
				"  seen    INTEGER NOT NULL, -- Unix microseconds: its latest\n" +
				"  facts   BLOB, -- the client facts of its latest save with facts; NULL: none\n" +
				"  exp     INTEGER NOT NULL -- Unix seconds: the latest expiry of its records saved with a time\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + groupsExpSuffix +
				" ON " + t.tableBase + groupsSuffix + " (exp)",
		}
	}
	return nil
}

// groupInfoQueries adds the statements of the group info to q.
//
// info and infoKeep read the group and the expiry from the record the save
// has just written (INSERT ... SELECT, by its primary key), so the row goes
// to whatever group the record is in: the one it joined, or the one it
// kept.
func (d Dialect) groupInfoQueries(t names, q *queries) {
	const s, g, i = "sessiongo_s", "sessiongo_g", "sessiongo_i" // aliases
	table := t.table + groupsSuffix
	q.groupInfo = "SELECT " + s + ".grp, " + g + ".created, " + g + ".seen, " + g + ".facts FROM " + t.table + " " + s +
		" LEFT JOIN " + table + " " + g + " ON " + g + ".grp = " + s + ".grp" +
		" WHERE " + s + ".sid = " + d.ph(1) + " AND " + s + ".name = " + d.ph(2) + " AND " + s + ".exp >= " + d.at(3)
	q.deleteInfo = "DELETE FROM " + table + " WHERE grp = " + d.ph(1)
	q.cleanInfo = "DELETE FROM " + table + " WHERE exp < " + d.at(1) +
		" AND NOT EXISTS (SELECT 1 FROM " + t.table + " " + s + " WHERE " + s + ".grp = " + table + ".grp)"

	// The values: seen twice (created, seen), then facts, then the
	// record's key. PostgreSQL is told their types: in a SELECT list they
	// have none of their own.
	insert := func(facts bool) string {
		var v, sid string
		switch {
		case d.kind == kindPostgres && facts:
			v, sid = "CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS BYTEA)", "$4"
		case d.kind == kindPostgres:
			v, sid = "CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST(NULL AS BYTEA)", "$3"
		case facts:
			v, sid = "?, ?, ?", "?"
		default:
			v, sid = "?, ?, NULL", "?"
		}
		into := table
		if d.kind == kindPostgres {
			into += " AS " + i
		}
		return "INSERT INTO " + into + " (grp, created, seen, facts, exp) SELECT " + s + ".grp, " + v + ", " + s + ".exp" +
			" FROM " + t.table + " " + s + " WHERE " + s + ".sid = " + sid + " AND " + s + ".grp IS NOT NULL"
	}
	switch d.kind {
	case kindPostgres:
		q.info = insert(true) + " ON CONFLICT (grp) DO UPDATE SET seen = EXCLUDED.seen, facts = EXCLUDED.facts," +
			" exp = GREATEST(" + i + ".exp, EXCLUDED.exp)"
		q.infoKeep = insert(false) + " ON CONFLICT (grp) DO UPDATE SET seen = EXCLUDED.seen," +
			" exp = GREATEST(" + i + ".exp, EXCLUDED.exp)"
	case kindMySQL:
		// Columns that both tables have must be named with their table.
		q.info = insert(true) + " ON DUPLICATE KEY UPDATE " + table + ".seen = VALUES(seen), " + table + ".facts = VALUES(facts), " +
			table + ".exp = GREATEST(" + table + ".exp, VALUES(exp))"
		q.infoKeep = insert(false) + " ON DUPLICATE KEY UPDATE " + table + ".seen = VALUES(seen), " +
			table + ".exp = GREATEST(" + table + ".exp, VALUES(exp))"
	case kindSQLite:
		// The WHERE clause of the SELECT tells SQLite's parser that ON
		// starts the upsert, not a join constraint.
		q.info = insert(true) + " ON CONFLICT (grp) DO UPDATE SET seen = excluded.seen, facts = excluded.facts," +
			" exp = MAX(exp, excluded.exp)"
		q.infoKeep = insert(false) + " ON CONFLICT (grp) DO UPDATE SET seen = excluded.seen, exp = MAX(exp, excluded.exp)"
	}
}

// infoStatement names a statement of withInfo: the upsert it extends, and
// whether it writes facts.
type infoStatement struct {
	upsert string
	facts  bool
}

// infoArgs are the arguments that a statement of withInfo takes after
// those of its upsert: seen (Unix microseconds), then facts when not nil.
type infoArgs struct {
	seen  int64
	facts []byte
}

// withInfoQueries returns, on PostgreSQL, the insert and join statements
// extended to write the group info too, in one statement: the upsert
// becomes a data-modifying WITH query whose RETURNING feeds the group info
// upsert, which saves a save with Seen a round trip. It changes one row
// exactly when the upsert does (every record it writes has a group), so
// its row count means what the upsert's means. Other databases have no
// data-modifying WITH: there the group info is a statement of its own.
func (d Dialect) withInfoQueries(t names, q *queries) {
	if d.kind != kindPostgres {
		return
	}
	const r, i = "sessiongo_r", "sessiongo_i" // aliases
	table := t.table + groupsSuffix
	q.withInfo = map[infoStatement]string{}
	for _, upsert := range []string{q.insert, q.join} {
		for _, facts := range []bool{false, true} {
			values, update := "CAST(NULL AS BYTEA)", ""
			if facts {
				values, update = "CAST($7 AS BYTEA)", " facts = EXCLUDED.facts,"
			}
			q.withInfo[infoStatement{upsert, facts}] = "WITH " + r + " AS (" + upsert + " RETURNING grp, exp)" +
				" INSERT INTO " + table + " AS " + i + " (grp, created, seen, facts, exp)" +
				" SELECT grp, CAST($6 AS BIGINT), CAST($6 AS BIGINT), " + values + ", exp FROM " + r + " WHERE grp IS NOT NULL" +
				" ON CONFLICT (grp) DO UPDATE SET seen = EXCLUDED.seen," + update +
				" exp = GREATEST(" + i + ".exp, EXCLUDED.exp)"
		}
	}
}

// infoQuery returns the statement that writes the group info of a save
// with facts (nil or not) and its arguments.
func (s *Store) infoQuery(key string, seen time.Time, facts []byte) (string, []any) {
	us := seen.UnixMicro()
	if facts != nil {
		return s.q.info, []any{us, us, facts, key}
	}
	return s.q.infoKeep, []any{us, us, key}
}

// writeInfo runs, within tx, the statement of infoQuery, or p, the same
// prepared, when not nil.
func (s *Store) writeInfo(ctx context.Context, tx *sql.Tx, p *sql.Stmt, stmt string, args []any) error {
	if p != nil {
		_, err := tx.StmtContext(ctx, p).ExecContext(ctx, args...)
		return err
	}
	_, err := tx.ExecContext(ctx, stmt, args...)
	return err
}

// prepared returns, on SQLite, stmt prepared on s's *sql.DB (and, as
// database/sql does, on each connection the first time a transaction on it
// runs it), or nil when preparing it failed: it is then run as it is.
// SQLite compiles a statement on every run otherwise, which cost the group
// info upsert (a join and an upsert) more than its work: in memory, half
// of a login's save. PostgreSQL's driver caches its statements itself (and
// the group info rides in the record's upsert there); on MySQL, where the
// commit costs the most, preparing it measured no faster. It takes a
// connection of its own the first time: call it outside a transaction (a
// database in memory has only one).
func (s *Store) prepared(ctx context.Context, stmt string) *sql.Stmt {
	if s.d.kind != kindSQLite {
		return nil
	}
	if p, ok := s.stmts.Load(stmt); ok {
		return p.(*sql.Stmt)
	}
	p, err := s.db.PrepareContext(ctx, stmt)
	if err != nil {
		return nil
	}
	if prev, loaded := s.stmts.LoadOrStore(stmt, p); loaded {
		p.Close()
		return prev.(*sql.Stmt)
	}
	return p
}

// GroupInfo returns the info of the group of the record under name and key
// that is live at now (the store's clock when zero), implementing
// store.GroupInfoReader: its ID (a hash of the group, or of the key of a
// record of a group of its own), and the times and facts that saves with
// SetOptions.Seen recorded, zero and nil when none did. A missing or
// expired record, or one under another cookie name, is an error that
// matches session.ErrNotFound. One SELECT (primary key lookups).
func (s *Store) GroupInfo(ctx context.Context, name, key string, now time.Time) (store.GroupInfo, error) {
	if !validRecord(name, key) {
		return store.GroupInfo{}, notFound(name, key)
	}
	var (
		group         sql.NullString
		created, seen sql.NullInt64
		facts         []byte
	)
	err := s.db.QueryRowContext(ctx, s.q.groupInfo, key, name, s.now(now).Unix()).Scan(&group, &created, &seen, &facts)
	if errors.Is(err, sql.ErrNoRows) {
		return store.GroupInfo{}, notFound(name, key)
	}
	if err != nil {
		return store.GroupInfo{}, fmt.Errorf("sqlstore: group info: %w", err)
	}
	info := store.GroupInfo{ID: groupID("r", key), Facts: facts}
	if group.Valid {
		info.ID = groupID("g", group.String)
	}
	if created.Valid {
		info.Created = time.UnixMicro(created.Int64)
	}
	if seen.Valid {
		info.Seen = time.UnixMicro(seen.Int64)
	}
	return info, nil
}

// groupID names a group by a hash of its grp (kind "g") or of the key of
// a record that is a group of its own (kind "r"), so that it reveals
// neither.
func groupID(kind, v string) string {
	sum := sha256.Sum256([]byte("sqlstore group\x00" + kind + "\x00" + v))
	return hex.EncodeToString(sum[:16])
}
