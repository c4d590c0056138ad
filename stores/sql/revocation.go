package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sessiongo/session/core/store"
)

var _ store.Revoker = (*Store)(nil)

// Revocation marks live in a table of their own beside the sessions table,
// "<table>_revoked" ("sessions_revoked"): one row per mark key (core's
// "sid:…", "sub:…" or "key:…"), with the unix seconds of its At and its
// expiry in the store's time type. Migrate creates it (revocationSchema
// follows the other statements of Schema).
const (
	revokedSuffix = "_revoked"
	// revokedExpSuffix names the index on exp: "<table>_rev_exp", which fits
	// PostgreSQL's 63 characters with the longest table name (55).
	revokedExpSuffix = "_rev_exp"
	// maxRevokeRows and maxLookupKeys bound the marks of one INSERT and the
	// keys of one SELECT, within every database's limit on parameters
	// (SQLite's 32766 the smallest); a call with more runs more statements.
	maxRevokeRows = 500
	maxLookupKeys = 1000
)

// markTime converts t into the value bound to the exp parameter of a
// revocation mark: a time with microseconds (PostgreSQL, MySQL, in UTC), or
// Unix microseconds on SQLite. Marks are sessiongo's own; the sessions
// table keeps whole seconds as lua-resty-session does.
func (d Dialect) markTime(t time.Time) any {
	if d.kind == kindSQLite {
		return t.UnixMicro()
	}
	return t.UTC()
}

// fullSchema is the DDL that Schema returns and Migrate runs: the sessions
// and subject index tables, then the revocation, group info and cap
// tables.
func (d Dialect) fullSchema(t names) []string {
	stmts := append(d.schema(t), d.revocationSchema(t)...)
	stmts = append(stmts, d.groupInfoSchema(t)...)
	return append(stmts, d.limitSchema(t)...)
}

// revocationSchema returns the statements that create the revocation table
// and its index on exp.
func (d Dialect) revocationSchema(t names) []string {
	table := t.table + revokedSuffix
	switch d.kind {
	case kindPostgres:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  mark    TEXT NOT NULL, -- sid:, sub: or key: and a base64url SHA-256\n" +
				"  at_unix BIGINT NOT NULL, -- sessions created at or before it (unix seconds) are revoked\n" +
				"  exp     TIMESTAMP WITH TIME ZONE NOT NULL,\n" +
				"  PRIMARY KEY (mark)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + revokedExpSuffix + " ON " + table + " (exp)",
		}
	case kindMySQL:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  mark    VARCHAR(255) NOT NULL, -- sid:, sub: or key: and a base64url SHA-256\n" +
				"  at_unix BIGINT NOT NULL, -- sessions created at or before it (unix seconds) are revoked\n" +
				"  exp     DATETIME(6) NOT NULL,\n" +
				"  PRIMARY KEY (mark),\n" +
				"  INDEX " + t.tableBase + revokedExpSuffix + " (exp)\n" +
				") ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin",
		}
	case kindSQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + table + " (\n" +
				"  mark    TEXT NOT NULL, -- sid:, sub: or key: and a base64url SHA-256\n" +
				"  at_unix INTEGER NOT NULL, -- sessions created at or before it (unix seconds) are revoked\n" +
				"  exp     INTEGER NOT NULL, -- Unix microseconds\n" +
				"  PRIMARY KEY (mark)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + revokedExpSuffix +
				" ON " + t.tableBase + revokedSuffix + " (exp)",
		}
	}
	return nil
}

// revokeQuery returns the upsert of n marks: (mark, at_unix, exp) triples,
// then now. A live row (exp > now) keeps the later at_unix; a row past its
// expiry takes the new one; either keeps the later exp.
func (d Dialect) revokeQuery(t names, n int) string {
	var b strings.Builder
	table := t.table + revokedSuffix
	b.WriteString("INSERT INTO " + table)
	if d.kind == kindPostgres {
		b.WriteString(" AS r")
	}
	b.WriteString(" (mark, at_unix, exp) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + d.ph(3*i+1) + ", " + d.ph(3*i+2) + ", " + d.ph(3*i+3) + ")")
	}
	now := d.ph(3*n + 1)
	switch d.kind {
	case kindPostgres:
		b.WriteString(" ON CONFLICT (mark) DO UPDATE SET" +
			" at_unix = CASE WHEN r.exp > " + now + " THEN GREATEST(r.at_unix, EXCLUDED.at_unix) ELSE EXCLUDED.at_unix END," +
			" exp = GREATEST(r.exp, EXCLUDED.exp)")
	case kindMySQL:
		// MySQL assigns from left to right: at_unix reads the old exp.
		b.WriteString(" ON DUPLICATE KEY UPDATE" +
			" at_unix = IF(exp > " + now + ", GREATEST(at_unix, VALUES(at_unix)), VALUES(at_unix))," +
			" exp = GREATEST(exp, VALUES(exp))")
	case kindSQLite:
		b.WriteString(" ON CONFLICT (mark) DO UPDATE SET" +
			" at_unix = CASE WHEN exp > " + now + " THEN MAX(at_unix, excluded.at_unix) ELSE excluded.at_unix END," +
			" exp = MAX(exp, excluded.exp)")
	}
	return b.String()
}

// revokedQuery returns the lookup of n keys: parameters now, then the keys.
func (d Dialect) revokedQuery(t names, n int) string {
	var b strings.Builder
	b.WriteString("SELECT mark, at_unix FROM " + t.table + revokedSuffix + " WHERE exp > " + d.ph(1) + " AND mark IN (")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.ph(i + 2))
	}
	b.WriteString(")")
	return b.String()
}

// cleanupMarksQuery deletes the marks that expired at or before now.
func (d Dialect) cleanupMarksQuery(t names) string {
	return "DELETE FROM " + t.table + revokedSuffix + " WHERE exp <= " + d.ph(1)
}

// Revoke writes marks, implementing store.Revoker: one upsert (INSERT ...
// ON CONFLICT / ON DUPLICATE KEY UPDATE) for up to 500 marks, which keeps,
// for a key that has a live mark, the later of the two At values
// (GREATEST, SQLite's MAX) and the later of the two expiries. A mark
// expires at now (the store's clock when zero) plus its TTL, at least one
// second; At is kept in whole unix seconds. The marks are written in the
// order of their keys, so that concurrent calls lock rows in one order.
//
// The table, "<table>_revoked", is created by Migrate (or the DDL of
// Schema). Once the store has served as a revocation backend, Cleanup (and
// so the cleaner and the occasional cleanup on write) also deletes expired
// marks.
func (s *Store) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	if len(marks) == 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sqlstore: revoke: %w", err)
		}
		return nil
	}
	s.markUsed()
	now = s.now(now)
	rows := make(map[string]*markRow, len(marks))
	for _, m := range marks {
		r := &markRow{key: m.Key, at: m.At.Unix(), exp: now.Add(max(m.TTL, time.Second))}
		if old := rows[m.Key]; old != nil { // an upsert may not touch a row twice
			r.at, r.exp = max(r.at, old.at), laterOf(r.exp, old.exp)
		}
		rows[m.Key] = r
	}
	sorted := make([]*markRow, 0, len(rows))
	for _, r := range rows {
		sorted = append(sorted, r)
	}
	slices.SortFunc(sorted, func(a, b *markRow) int { return cmp.Compare(a.key, b.key) })
	for chunk := range slices.Chunk(sorted, maxRevokeRows) {
		args := make([]any, 0, 3*len(chunk)+1)
		for _, r := range chunk {
			args = append(args, r.key, r.at, s.d.markTime(r.exp))
		}
		args = append(args, s.d.markTime(now))
		err := s.retry(ctx, func() error {
			_, err := s.db.ExecContext(ctx, s.d.revokeQuery(s.t, len(chunk)), args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlstore: revoke: %w", err)
		}
	}
	s.maybeCleanup(ctx, now)
	return nil
}

// markUsed records that the store serves as a revocation backend, so that
// Cleanup deletes expired marks too. It only writes the flag once: Revoked
// runs on every open that misses the cache.
func (s *Store) markUsed() {
	if !s.revoking.Load() {
		s.revoking.Store(true)
	}
}

// A markRow is a mark as Revoke writes it.
type markRow struct {
	key string
	at  int64 // unix seconds
	exp time.Time
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Revoked returns the At of the live mark of each key (one whose expiry is
// after now, the store's clock when zero), in the order of keys, or the
// zero Time for a key without one, implementing store.Revoker. It is one
// SELECT ... WHERE mark IN (...) for up to 1,000 keys.
func (s *Store) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	s.markUsed()
	out := make([]time.Time, len(keys))
	if len(keys) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: revoked: %w", err)
		}
		return out, nil
	}
	live := s.d.markTime(s.now(now))
	found := make(map[string]int64, len(keys))
	for chunk := range slices.Chunk(keys, maxLookupKeys) {
		if err := s.lookupMarks(ctx, chunk, live, found); err != nil {
			return nil, fmt.Errorf("sqlstore: revoked: %w", err)
		}
	}
	for i, k := range keys {
		if at, ok := found[k]; ok {
			out[i] = time.Unix(at, 0)
		}
	}
	return out, nil
}

// lookupMarks adds the live marks of keys to found.
func (s *Store) lookupMarks(ctx context.Context, keys []string, live any, found map[string]int64) error {
	args := make([]any, 0, len(keys)+1)
	args = append(args, live)
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := s.db.QueryContext(ctx, s.d.revokedQuery(s.t, len(keys)), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key string
			at  int64
		)
		if err := rows.Scan(&key, &at); err != nil {
			return err
		}
		found[key] = at
	}
	return rows.Err()
}

// cleanupMarks deletes the marks that expired at or before now (bound as
// the exp column is).
func (s *Store) cleanupMarks(ctx context.Context, now any) error {
	_, err := s.db.ExecContext(ctx, s.d.cleanupMarksQuery(s.t), now)
	return err
}
