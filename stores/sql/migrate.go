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
// Migrate runs; teams that manage their DDL themselves can print it or
// copy it from the README. Every statement uses IF NOT EXISTS.
func Schema(dialect Dialect, opts ...Option) (string, error) {
	stmts, err := schema(dialect, opts)
	if err != nil {
		return "", err
	}
	return strings.Join(stmts, ";\n") + ";\n", nil
}

// Migrate creates the tables and indexes of a Store with these options
// when they do not exist yet, so it is safe to call at every start. It
// runs the statements of Schema one by one (MySQL commits DDL as it goes,
// so a failure may leave part of the schema: run Migrate again once the
// cause is fixed).
func Migrate(ctx context.Context, db *sql.DB, dialect Dialect, opts ...Option) error {
	if db == nil {
		return fmt.Errorf("sqlstore: nil *sql.DB: %w", session.ErrInvalidConfig)
	}
	stmts, err := schema(dialect, opts)
	if err != nil {
		return err
	}
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
	}
	return nil
}

func schema(dialect Dialect, opts []Option) ([]string, error) {
	if !dialect.valid() {
		return nil, fmt.Errorf("sqlstore: invalid dialect (use sqlstore.Postgres, MySQL or SQLite): %w",
			session.ErrInvalidConfig)
	}
	_, n, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return dialect.schema(n), nil
}
