package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	session "github.com/sessiongo/session/core"
)

// Schema returns the DDL that creates the tables and indexes of a Store
// with these options (only WithTable and WithMetaTable matter), one
// statement after another, each ending with a semicolon. It is what
// Migrate runs on a new database; teams that manage their DDL themselves
// can print it or copy it from the README. Every statement uses IF NOT
// EXISTS, so it does not change tables created by an earlier version: the
// README's upgrade statements, which Migrate runs itself, add the grp
// column to them.
func Schema(dialect Dialect, opts ...Option) (string, error) {
	n, err := tableNames(dialect, opts)
	if err != nil {
		return "", err
	}
	return strings.Join(dialect.fullSchema(n), ";\n") + ";\n", nil
}

// Migrate creates the tables and indexes of a Store with these options
// when they do not exist yet, so it is safe to call at every start. It
// runs the statements of Schema one by one (MySQL commits DDL as it goes,
// so a failure may leave part of the schema: run Migrate again once the
// cause is fixed).
//
// A sessions table created by an earlier version, without the grp column
// that records the group of each record, is upgraded in place: Migrate
// adds the column (NULL, "a group of its own", in the existing rows) and
// its index, as the README's upgrade statements do. Existing sessions stay
// valid.
func Migrate(ctx context.Context, db *sql.DB, dialect Dialect, opts ...Option) error {
	if db == nil {
		return fmt.Errorf("sqlstore: nil *sql.DB: %w", session.ErrInvalidConfig)
	}
	n, err := tableNames(dialect, opts)
	if err != nil {
		return err
	}
	stmts := dialect.fullSchema(n)
	if _, err := db.ExecContext(ctx, stmts[0]); err != nil { // the sessions table
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	if err := upgrade(ctx, db, dialect, n); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	for _, stmt := range stmts[1:] {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
	}
	return nil
}

// upgrade adds the grp column and its index to a sessions table that
// lacks them.
func upgrade(ctx context.Context, db *sql.DB, d Dialect, n names) error {
	q, args := d.hasGroupColumn(n)
	var columns int
	if err := db.QueryRowContext(ctx, q, args...).Scan(&columns); err != nil || columns > 0 {
		return err
	}
	for _, stmt := range d.upgrade(n) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("upgrade to record groups: %w", err)
		}
	}
	return nil
}

// tableNames validates the dialect and the options and returns the table
// names they give.
func tableNames(dialect Dialect, opts []Option) (names, error) {
	if !dialect.valid() {
		return names{}, errInvalidDialect
	}
	_, n, err := newConfig(opts)
	return n, err
}
