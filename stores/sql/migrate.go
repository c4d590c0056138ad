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
// EXISTS, so it does not change existing tables: Migrate upgrades those
// (see Migrate and the README).
func Schema(dialect Dialect, opts ...Option) (string, error) {
	n, err := tableNames(dialect, opts)
	if err != nil {
		return "", err
	}
	return strings.Join(dialect.fullSchema(n), ";\n") + ";\n", nil
}

// Migrate creates the tables and indexes of a Store with these options
// when they do not exist yet, and upgrades existing ones, so it is safe to
// call at every start:
//
//   - tables made with lua-resty-session's DDL get the grp column (NULL in
//     every row: each record a group of its own) and the indexes sessiongo
//     adds; lua-resty-session keeps working on them;
//   - sessiongo's own tables ("<table>_revoked", "<table>_groups",
//     "<table>_limits") are created when they are missing, beside tables
//     of any earlier layout;
//   - tables of an earlier sessiongo layout, keyed by (sid, name) with
//     binary data (their subject index has a name column), are moved to
//     the current layout: the new tables take the names and the rows, the
//     old ones stay as "<table>_v0" and "<meta>_v0" for you to drop. The
//     README prints the statements; on PostgreSQL and SQLite they run in
//     one transaction, on MySQL the new tables are filled under temporary
//     names and swapped in by one RENAME TABLE.
//
// Statements that lose a race (a deadlock, SQLITE_BUSY) are run again a
// few times. MySQL commits DDL as it goes, so a failure may leave part of
// the schema: run Migrate again once the cause is fixed.
func Migrate(ctx context.Context, db *sql.DB, dialect Dialect, opts ...Option) error {
	if db == nil {
		return fmt.Errorf("sqlstore: nil *sql.DB: %w", session.ErrInvalidConfig)
	}
	n, err := tableNames(dialect, opts)
	if err != nil {
		return err
	}
	if err := migrate(ctx, db, dialect, n); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, d Dialect, n names) error {
	v0, err := hasColumn(ctx, db, d, n.meta, n.metaBase, n.schemaPrefix, "name")
	if err != nil {
		return err
	}
	if v0 {
		if err := addGroups(ctx, db, d, n); err != nil { // tables older than groups
			return err
		}
		if err := fromV0(ctx, db, d, n); err != nil {
			return fmt.Errorf("move the tables of the earlier layout: %w", err)
		}
	}
	stmts := d.fullSchema(n)
	if err := execAll(ctx, db, stmts[:1]); err != nil { // the sessions table
		return err
	}
	if err := addGroups(ctx, db, d, n); err != nil { // the reference's tables
		return err
	}
	return execAll(ctx, db, stmts[1:])
}

// addGroups adds the grp column and its index to a sessions table that
// lacks them.
func addGroups(ctx context.Context, db *sql.DB, d Dialect, n names) error {
	ok, err := hasColumn(ctx, db, d, n.table, n.tableBase, n.schemaPrefix, "grp")
	if err != nil || ok {
		return err
	}
	if err := execAll(ctx, db, d.addGroups(n)); err != nil {
		return fmt.Errorf("add record groups: %w", err)
	}
	return nil
}

// fromV0 runs the statements that move v0 tables to the current layout.
func fromV0(ctx context.Context, db *sql.DB, d Dialect, n names) error {
	stmts, inTx := d.fromV0(n)
	if !inTx {
		return execAll(ctx, db, stmts)
	}
	return retry(ctx, nil, func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	})
}

// execAll runs stmts one by one, each retried when it loses a race.
func execAll(ctx context.Context, db *sql.DB, stmts []string) error {
	for _, stmt := range stmts {
		err := retry(ctx, nil, func() error {
			_, err := db.ExecContext(ctx, stmt)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// hasColumn reports whether the table has the column; a missing table has
// none.
func hasColumn(ctx context.Context, db *sql.DB, d Dialect, full, base, schemaPrefix, column string) (bool, error) {
	q, args := d.hasColumn(full, base, schemaPrefix, column)
	var count int
	err := retry(ctx, nil, func() error { return db.QueryRowContext(ctx, q, args...).Scan(&count) })
	return count > 0, err
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
