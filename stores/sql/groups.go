package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	session "github.com/sessiongo/session/core"
)

// Records form groups, one per browser session, so that ending a session
// ends every record a cookie of it could still open: the stale records a
// save leaves behind for StaleTTL, the records of concurrent saves (forks)
// and the remember cookie's records. The grp column names a record's
// group: a random id given to each new record, inherited by the record
// that replaces it (Set with OldKey) and by its partner under the other
// cookie name (Set with Partner). A NULL group, as in the rows that
// lua-resty-session writes (its statements never name the column) and those
// written before groups existed, is a group of its own; the first record
// that joins it gives it an id.
//
// Concurrency. Set locks the record it joins (the OldKey or Partner record)
// until it commits, and fails with ErrNotFound if that record is gone or
// expired once the lock is granted. Delete deletes the record, then the
// group's rows, repeating until a pass deletes nothing: at READ COMMITTED
// (PostgreSQL's default, and the store's level on MySQL) a pass that waited
// for a concurrent Set's lock does not see the row that Set inserted; the
// next pass does. A Set that asks for its lock after Delete took it waits
// for Delete to commit and finds nothing. So a Delete and a concurrent Set
// are always one after the other: the Set fails, or its record dies with
// the group. SQLite runs one writer at a time, and every transaction here
// starts with a write, so it never sees a stale snapshot. A transaction
// that the database rolls back to break a deadlock is run again from the
// start (see retry.go), so it takes its decisions afresh.

// newGroup returns a fresh group id: 128 random bits, 26 characters.
func newGroup() string { return rand.Text() }

// action is what lockGroup does to the record it locks.
type action int

const (
	actNone    action = iota // no record is locked
	actKeep                  // leave it as it is (a partner, or a key rewritten in place)
	actShorten               // shorten its expiry to the stale expiry
	actRetire                // delete it (StaleTTL zero)
)

// lockGroup locks the live record under name and key for the rest of tx,
// applies act to it and returns its group. now and stale are Unix seconds:
// the record is live while its exp is at or after now, and actShorten
// brings its exp down to stale. A record without a group gets fresh (and a
// retired one leaves it to the record that replaces it). No live record is
// an error that matches session.ErrNotFound, and the caller rolls tx back.
func (s *Store) lockGroup(ctx context.Context, tx *sql.Tx, act action, name, key string, now, stale int64, fresh string) (string, error) {
	if !validRecord(name, key) {
		return "", notFound(name, key)
	}
	var stmt string
	var args []any
	switch act {
	case actKeep:
		stmt, args = s.q.claim, []any{fresh, key, name, now}
	case actShorten:
		stmt, args = s.q.shorten, []any{stale, fresh, key, name, now}
	case actRetire:
		stmt, args = s.q.retire, []any{key, name, now}
		if s.q.retireMeta != "" { // SQLite: its index rows first (rolled back if it is not live)
			if _, err := tx.ExecContext(ctx, s.q.retireMeta, key, name, now); err != nil {
				return "", err
			}
		}
	default:
		return "", fmt.Errorf("sqlstore: lockGroup with action %d", act)
	}
	var group sql.NullString
	if s.q.lock == "" { // PostgreSQL, SQLite: the statement returns the group
		err := tx.QueryRowContext(ctx, stmt, args...).Scan(&group)
		if errors.Is(err, sql.ErrNoRows) {
			return "", notFound(name, key)
		}
		if err != nil {
			return "", err
		}
	} else { // MySQL: read the group under the row's lock, then write
		err := tx.QueryRowContext(ctx, s.q.lock, key, name, now).Scan(&group)
		if errors.Is(err, sql.ErrNoRows) {
			return "", notFound(name, key)
		}
		if err != nil {
			return "", err
		}
		if act != actKeep || !group.Valid {
			if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
				return "", err
			}
		}
	}
	if !group.Valid {
		return fresh, nil
	}
	return group.String, nil
}

// deleteGroup deletes the record under name and key, live or expired, with
// its index entries, then every record of its group with theirs.
func (s *Store) deleteGroup(ctx context.Context, tx *sql.Tx, name, key string) error {
	if s.q.deleteMeta != "" { // SQLite; also takes the write lock first
		if _, err := tx.ExecContext(ctx, s.q.deleteMeta, key, name); err != nil {
			return err
		}
	}
	var group sql.NullString
	var err error
	if s.q.lockAny == "" { // PostgreSQL, SQLite
		err = tx.QueryRowContext(ctx, s.q.deleteRow, key, name).Scan(&group)
	} else { // MySQL
		if err = tx.QueryRowContext(ctx, s.q.lockAny, key, name).Scan(&group); err == nil {
			_, err = tx.ExecContext(ctx, s.q.deleteRow, key, name)
		}
	}
	if errors.Is(err, sql.ErrNoRows) || err == nil && !group.Valid {
		return nil // missing, or a group of its own
	}
	if err != nil {
		return err
	}
	for {
		if s.q.deleteGroupMeta != "" {
			if _, err := tx.ExecContext(ctx, s.q.deleteGroupMeta, group.String); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.q.deleteGroup, group.String)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			break
		}
	}
	// Its info goes with it. A save that joined the group committed before
	// the last pass found nothing (it held a lock the pass waited for), so
	// its info row is there to delete.
	_, err = tx.ExecContext(ctx, s.q.deleteInfo, group.String)
	return err
}

func notFound(name, key string) error {
	return fmt.Errorf("sqlstore: %s %s: %w", name, key, session.ErrNotFound)
}
