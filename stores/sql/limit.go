package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/sessiongo/session/core/store"
)

var _ store.SessionLimiter = (*Store)(nil)

// The cap per subject (store.SessionLimiter). A login's save with
// SetOptions.Limit runs, first in its transaction:
//
//  1. an upsert of the pair's row in "<table>_limits" ("sessions_limits",
//     keyed by audience and subject, which only sessiongo reads), which
//     locks that row until the transaction ends. Every capped login of the
//     pair takes this lock first, so they run one after another, even the
//     first two logins of a subject, whose index rows do not exist yet:
//     locking the index rows (SELECT ... FOR UPDATE) would lock nothing
//     then, and at READ COMMITTED nothing would keep both from counting
//     the same rows. The upsert inserts the row or locks the existing one
//     in one statement on all three databases (PostgreSQL's ON CONFLICT DO
//     UPDATE, InnoDB's ON DUPLICATE KEY UPDATE, which takes an exclusive
//     lock on the duplicate row), and being a write it also takes SQLite's
//     write lock before the transaction reads anything. A row lock, not an
//     advisory lock (pg_advisory_xact_lock, MySQL's GET_LOCK): it works
//     the same on the three databases, the deadlock detectors of
//     PostgreSQL and InnoDB see it, and it goes with the transaction
//     whatever happens to the connection (a GET_LOCK lock outlives a
//     rolled back transaction on a pooled connection);
//  2. a read of the pair's live records under the cookie name, the new key
//     left out, counted by group: a browser session counts once, though a
//     save leaves its replaced record listed in the index for its stale
//     TTL. Each statement at READ COMMITTED sees what the logins before it
//     committed;
//  3. with as many groups as the limit or more: with LimitRefuse, an error
//     that matches store.ErrSessionLimit (the transaction rolls back,
//     storing nothing); otherwise the deletion of the groups whose newest
//     record expires soonest, as Delete deletes a group, until Limit-1 are
//     left.
//
// Then the save writes as usual. Other writes of the pair's index rows
// (rotations, Delete, pruning) never add a group, so they need not take
// the lock; a Delete racing with a capped login is one after the other,
// as with any save (groups.go). A deadlock is retried like any other.
// Cleanup deletes the lock rows whose expiry (that of the pair's latest
// capped login) has passed, once the store has capped a login: a store
// that never did leaves the table alone.
const (
	limitsSuffix = "_limits"
	// limitsExpSuffix names the index on exp: "<table>_lim_exp", which
	// fits PostgreSQL's 63 characters with the longest table name (55).
	limitsExpSuffix = "_lim_exp"
)

// LimitsSessions reports true: the store caps the sessions of a subject
// atomically (store.SessionLimiter), in the transaction of the login's
// save, on every database.
func (s *Store) LimitsSessions() bool { return true }

// limitSchema returns the statements that create the lock table of the
// cap and its index on exp.
func (d Dialect) limitSchema(t names) []string {
	table := t.table + limitsSuffix
	switch d.kind {
	case kindPostgres:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  aud TEXT NOT NULL,\n" +
				"  sub TEXT NOT NULL,\n" +
				"  exp TIMESTAMP WITH TIME ZONE NOT NULL, -- the expiry of the pair's latest capped login\n" +
				"  PRIMARY KEY (aud, sub)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + limitsExpSuffix + " ON " + table + " (exp)",
		}
	case kindMySQL:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  aud VARCHAR(255) NOT NULL,\n" +
				"  sub VARCHAR(255) NOT NULL,\n" +
				"  exp DATETIME NOT NULL, -- the expiry of the pair's latest capped login\n" +
				"  PRIMARY KEY (aud, sub),\n" +
				"  INDEX " + t.tableBase + limitsExpSuffix + " (exp)\n" +
				") ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin",
		}
	case kindSQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  aud TEXT NOT NULL,\n" +
				"  sub TEXT NOT NULL,\n" +
				"  exp INTEGER NOT NULL, -- Unix seconds: the expiry of the pair's latest capped login\n" +
				"  PRIMARY KEY (aud, sub)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + limitsExpSuffix +
				" ON " + t.tableBase + limitsSuffix + " (exp)",
		}
	}
	return nil
}

// limitQueries adds the statements of the cap to q.
func (d Dialect) limitQueries(t names, q *queries) {
	const s, m, l = "sessiongo_s", "sessiongo_m", "sessiongo_l" // aliases
	table := t.table + limitsSuffix
	switch d.kind {
	case kindPostgres:
		q.lockPair = "INSERT INTO " + table + " AS " + l + " (aud, sub, exp) VALUES ($1, $2, " + d.at(3) + ")" +
			" ON CONFLICT (aud, sub) DO UPDATE SET exp = GREATEST(" + l + ".exp, EXCLUDED.exp)"
	case kindMySQL:
		q.lockPair = "INSERT INTO " + table + " (aud, sub, exp) VALUES (?, ?, FROM_UNIXTIME(?))" +
			" ON DUPLICATE KEY UPDATE exp = GREATEST(exp, VALUES(exp))"
	case kindSQLite:
		q.lockPair = "INSERT INTO " + table + " (aud, sub, exp) VALUES (?, ?, ?)" +
			" ON CONFLICT (aud, sub) DO UPDATE SET exp = MAX(exp, excluded.exp)"
	}
	q.limitList = "SELECT " + s + ".sid, " + s + ".grp, " + d.unix(s+".exp") + " FROM " + t.meta + " " + m +
		" JOIN " + t.table + " " + s + " ON " + s + ".sid = " + m + ".sid" +
		" WHERE " + m + ".aud = " + d.ph(1) + " AND " + m + ".sub = " + d.ph(2) + " AND " + s + ".name = " + d.ph(3) +
		" AND " + s + ".exp >= " + d.at(4)
	q.cleanLocks = "DELETE FROM " + table + " WHERE exp < " + d.at(1)
}

// errLimitUse is the error of a Set with a Limit that is not a login's.
var errLimitUse = fmt.Errorf("sqlstore: SetOptions.Limit needs one audience and subject pair in Metadata, " +
	"and neither OldKey nor Partner")

// limitGroup is one browser session that the cap counts.
type limitGroup struct {
	key string // the group, or the key of a record of a group of its own
	sid string // its record that expires last
	exp int64  // when that record expires (Unix seconds)
}

// capSessions applies the cap of a login's save within tx, before it
// writes the record under name and key: see the comment above. aud and sub
// are the pair's index values, now and exp the Unix seconds of the save
// and of the new record's expiry.
func (s *Store) capSessions(ctx context.Context, tx *sql.Tx, name, key, aud, sub string, now, exp int64, limit int, refuse bool) error {
	if !s.limiting.Load() {
		s.limiting.Store(true)
	}
	if _, err := tx.ExecContext(ctx, s.q.lockPair, aud, sub, exp); err != nil {
		return err
	}
	groups, err := s.liveGroups(ctx, tx, name, key, aud, sub, now)
	if err != nil {
		return err
	}
	if len(groups) < limit {
		return nil
	}
	if refuse {
		return fmt.Errorf("%d sessions, limit %d: %w", len(groups), limit, store.ErrSessionLimit)
	}
	for _, g := range groups[:len(groups)-limit+1] {
		if err := s.deleteGroup(ctx, tx, name, g.sid); err != nil {
			return err
		}
	}
	return nil
}

// liveGroups returns the groups of the pair's live records under name but
// key's, those whose newest record expires soonest first.
func (s *Store) liveGroups(ctx context.Context, tx *sql.Tx, name, key, aud, sub string, now int64) ([]limitGroup, error) {
	rows, err := tx.QueryContext(ctx, s.q.limitList, aud, sub, name, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var groups []limitGroup
	at := map[string]int{}
	for rows.Next() {
		var (
			sid   string
			group sql.NullString
			exp   int64
		)
		if err := rows.Scan(&sid, &group, &exp); err != nil {
			return nil, err
		}
		if sid == key {
			continue
		}
		g := limitGroup{key: "r\x00" + sid, sid: sid, exp: exp}
		if group.Valid {
			g.key = "g\x00" + group.String
		}
		i, ok := at[g.key]
		switch {
		case !ok:
			at[g.key] = len(groups)
			groups = append(groups, g)
		case exp > groups[i].exp:
			groups[i] = g
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(groups, func(a, b limitGroup) int {
		return cmp.Or(cmp.Compare(a.exp, b.exp), cmp.Compare(a.key, b.key))
	})
	return groups, nil
}
