package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// Store keeps session records in a SQL database through database/sql. It
// implements session.Store, store.SubjectIndex, store.GroupInfoReader,
// store.SessionLimiter, store.Revoker and store.Stopper, and is safe for
// concurrent use. Create it with New.
//
// Its tables are lua-resty-session's (see Schema): both libraries read and
// write the same rows. The group info, the cap's locks and the revocation
// marks live in tables of sessiongo's own beside them. Expiry is kept in
// whole seconds and compared, as lua-resty-session compares it, against
// the session library's time given in GetOptions.Now, SetOptions.Now and
// DeleteOptions.Now (the Manager's Config.Clock), never against the
// database server's clock, so tests can move time forward without sleeping
// and servers with a skewed clock do no harm: a record is live while its
// expiry second is at or after the current one.
type Store struct {
	db          *sql.DB
	d           Dialect
	t           names
	q           queries
	probability float64
	clock       func() time.Time
	revoking    atomic.Bool // served as a revocation backend: Cleanup deletes expired marks too
	limiting    atomic.Bool // capped a login: Cleanup deletes expired lock rows too
	onRetry     func(error) // tests: called before a write is run again
	stmts       sync.Map    // SQLite: statements prepared once (see prepared)

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

var (
	_ session.Store      = (*Store)(nil)
	_ store.SubjectIndex = (*Store)(nil)
	_ store.Stopper      = (*Store)(nil)
)

// New returns a Store that keeps records in db, written in dialect's SQL,
// in the tables "sessions" and "sessions_meta" unless options say
// otherwise, and its own data in "<table>_groups", "<table>_limits" and
// "<table>_revoked". The tables must exist: create them with Migrate or
// with the DDL that Schema returns. New does not touch the database; a nil
// db, an invalid dialect or an invalid option is an error that matches
// session.ErrInvalidConfig. With WithCleanupInterval, New starts a cleaner
// goroutine that Stop ends.
func New(db *sql.DB, dialect Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("sqlstore: nil *sql.DB: %w", session.ErrInvalidConfig)
	}
	if !dialect.valid() {
		return nil, errInvalidDialect
	}
	c, n, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		db:          db,
		d:           dialect,
		t:           n,
		q:           dialect.queries(n),
		probability: c.probability,
		clock:       c.clock,
	}
	if c.interval > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.clean(c.interval)
	}
	return s, nil
}

// Get returns the record stored under name and key while it is live at
// opts.Now (the store's clock when zero, see WithClock): while its expiry,
// in whole seconds, is not before opts.Now's second. A missing or expired
// record, or one under the same key but another cookie name, is an error
// that matches session.ErrNotFound; a database failure is returned
// wrapped.
func (s *Store) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	if !validRecord(name, key) {
		return nil, notFound(name, key)
	}
	var text sql.NullString
	err := s.db.QueryRowContext(ctx, s.q.get, key, name, s.now(opts.Now).Unix()).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(name, key)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get: %w", err)
	}
	value, ok, err := decodeValue(text)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get: %w", err)
	}
	if !ok {
		return nil, notFound(name, key)
	}
	return value, nil
}

// Set stores value under name and key until opts.Now + opts.TTL (in whole
// seconds: the TTL rounded up), as one transaction whenever it writes more
// than the record:
//
//   - With opts.OldKey, the live record under OldKey is locked; if there is
//     none, Set stores nothing and returns an error that matches
//     session.ErrNotFound. Its expiry is shortened to opts.Now +
//     opts.StaleTTL (never lengthened; a StaleTTL of zero deletes it, with
//     its index rows), and the new record joins its group.
//   - With opts.Partner, the live partner record is locked in the same way
//     and the new record joins its group instead.
//   - Without either, a new record starts a group of its own; rewriting an
//     existing key keeps its group.
//   - With opts.Metadata, key joins the index of each pair. Index rows stay
//     until their record is deleted (ON DELETE CASCADE), as
//     lua-resty-session leaves them: the rows of a replaced record are
//     listed no longer than the record lives.
//   - With opts.Seen (and not Replace), the group's info is upserted after
//     the record (see GroupInfo): Seen as its latest time (and, on its
//     first, its creation time) and, when opts.Facts is not nil, Facts.
//   - With opts.Limit, a login's cap: before anything else the save locks
//     the lock row of the Metadata's audience and subject pair, counts
//     the pair's live browser sessions under name (groups, the new key
//     left out) and, when there are Limit or more, fails with an error
//     that matches store.ErrSessionLimit with opts.LimitRefuse, or else
//     deletes the groups that expire soonest until Limit-1 are left (see
//     limit.go). A Limit with OldKey, Partner or other than one pair is an
//     error.
//
// A failure rolls the whole transaction back, so the previous record stays
// as it was; a transaction that loses a deadlock is run again (a few times)
// instead. Afterwards, with the cleanup probability, every expired row is
// deleted; a failure of this housekeeping is not reported, since the record
// was stored.
//
// Keys are shared by all cookie names, as in lua-resty-session's table
// (sid is its primary key): a key already stored under another cookie name
// is left alone, and Set returns an error. The session library never does
// that: its keys are random.
//
// With opts.Replace, Set only replaces the value of the live record under
// key, keeping its expiry, group and index entries, and returns an error
// that matches session.ErrNotFound when there is none.
//
// Audiences and subjects longer than 255 bytes are indexed by their
// SHA-256 digest (see Sessions), so none is ever cut short or refused.
func (s *Store) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if !validRecord(name, key) {
		if opts.Replace {
			return fmt.Errorf("sqlstore: set: %w", notFound(name, key))
		}
		return fmt.Errorf("sqlstore: set: %q is not a storage key of at most %d base64url characters"+
			" or %q not a cookie name", key, maxKey, name)
	}
	now := s.now(opts.Now)
	text := encodeValue(value)
	if opts.Replace {
		if err := s.retry(ctx, func() error { return s.replace(ctx, name, key, text, now.Unix()) }); err != nil {
			return fmt.Errorf("sqlstore: set: %w", err)
		}
		s.maybeCleanup(ctx, now)
		return nil
	}
	if opts.TTL <= 0 {
		return fmt.Errorf("sqlstore: ttl %v is not positive", opts.TTL)
	}
	var aud, sub []string
	if md := opts.Metadata; md != nil {
		if len(md.Audiences) != len(md.Subjects) {
			return fmt.Errorf("sqlstore: metadata has %d audiences but %d subjects",
				len(md.Audiences), len(md.Subjects))
		}
		aud, sub = indexValues(md.Audiences), indexValues(md.Subjects)
	}
	limit := opts.Limit > 0
	if limit && (opts.OldKey != "" || !opts.Partner.IsZero() || len(aud) != 1) {
		return errLimitUse
	}
	info := !opts.Seen.IsZero()
	sec := now.Unix()
	exp, stale := sec+seconds(opts.TTL), sec+seconds(opts.StaleTTL)
	var (
		infoStmt string
		infoArgv []any
		infoPrep *sql.Stmt
	)
	if info && s.q.withInfo == nil {
		infoStmt, infoArgv = s.infoQuery(key, opts.Seen, opts.Facts)
		infoPrep = s.prepared(ctx, infoStmt)
	}
	var err error
	if opts.OldKey == "" && opts.Partner.IsZero() && len(aud) == 0 && !info {
		err = s.retry(ctx, func() error { return s.upsert(ctx, s.db, s.q.insert, name, key, text, exp, newGroup(), nil) })
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if limit {
				if err := s.capSessions(ctx, tx, name, key, aud[0], sub[0], sec, exp, opts.Limit, opts.LimitRefuse); err != nil {
					return err
				}
			}
			stmt, group := s.q.insert, newGroup()
			if opts.OldKey != "" {
				act := actShorten
				switch {
				case opts.OldKey == key:
					act = actKeep // rewritten in place: nothing to shorten
				case opts.StaleTTL <= 0:
					act = actRetire
				}
				g, err := s.lockGroup(ctx, tx, act, name, opts.OldKey, sec, stale, group)
				if err != nil {
					return err
				}
				stmt, group = s.q.join, g
			}
			if p := opts.Partner; !p.IsZero() {
				g, err := s.lockGroup(ctx, tx, actKeep, p.Name, p.Key, sec, sec, group)
				if err != nil {
					return err
				}
				stmt, group = s.q.join, g
			}
			var with *infoArgs // the group info, when the upsert writes it too
			if info && s.q.withInfo != nil {
				with = &infoArgs{seen: opts.Seen.UnixMicro(), facts: opts.Facts}
			}
			if err := s.upsert(ctx, tx, stmt, name, key, text, exp, group, with); err != nil {
				return err
			}
			if len(aud) > 0 {
				args := make([]any, 0, 3*len(aud))
				for i := range aud {
					args = append(args, aud[i], sub[i], key)
				}
				if _, err := tx.ExecContext(ctx, s.d.insertMeta(s.t, len(aud)), args...); err != nil {
					return err
				}
			}
			if info && with == nil {
				return s.writeInfo(ctx, tx, infoPrep, infoStmt, infoArgv)
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("sqlstore: set: %w", err)
	}
	s.maybeCleanup(ctx, now)
	return nil
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// errKeyTaken is the cause of Set's error for a key stored under another
// cookie name.
var errKeyTaken = errors.New("the key is stored under another cookie name")

// upsert inserts the record or updates the one of the same cookie name
// under key, with the insert or join statement stmt; with info, in the same
// statement as the group info (withInfo).
func (s *Store) upsert(ctx context.Context, ex execer, stmt, name, key, text string, exp int64, group string, info *infoArgs) error {
	args := []any{key, name, text, exp, group}
	if info != nil {
		stmt = s.q.withInfo[infoStatement{stmt, info.facts != nil}]
		args = append(args, info.seen)
		if info.facts != nil {
			args = append(args, info.facts)
		}
	}
	res, err := ex.ExecContext(ctx, stmt, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	// No row changed: a record under another cookie name holds the key, or
	// (MySQL counts the rows it changed, not those it found) the same
	// record was written again with the same values.
	var other string
	if err := ex.QueryRowContext(ctx, s.q.nameOf, key).Scan(&other); err != nil {
		return err
	}
	if other != name {
		return fmt.Errorf("%s %s: %w", name, key, errKeyTaken)
	}
	return nil
}

// replace updates the data of the live record under name and key.
func (s *Store) replace(ctx context.Context, name, key, text string, now int64) error {
	res, err := s.db.ExecContext(ctx, s.q.replace, text, key, name, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	// MySQL counts the rows it changed, not those it found: rewriting a
	// record with its own value changes none.
	var one int
	err = s.db.QueryRowContext(ctx, s.q.exists, key, name, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(name, key)
	}
	return err
}

// Delete removes the record under name and key together with every other
// record of its group: the stale records it replaced, the records that
// replaced it (forks too) and its partner records under the other cookie
// name, all in one transaction, so that no cookie of that browser session
// opens again. Their subject index entries go with them (ON DELETE
// CASCADE, and explicit deletes on SQLite, whose foreign keys are off
// unless the connection turns them on), whatever opts.Metadata says. A
// record under the same key but another cookie name is left alone.
// Deleting a missing record is not an error.
func (s *Store) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	if !validRecord(name, key) {
		return nil // no such record can exist
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.deleteGroup(ctx, tx, name, key) })
	if err != nil {
		return fmt.Errorf("sqlstore: delete: %w", err)
	}
	s.maybeCleanup(ctx, s.now(opts.Now))
	return nil
}

// Sessions lists the sessions of cookie name in the subject index of an
// encoded audience and subject that are live at now, soonest expiry first,
// each with its expiry second. The pair's expired records are deleted
// first (their index rows go with them). An audience or subject of any
// length works: beyond 255 bytes (the width of MySQL's columns) the index
// holds its SHA-256 instead, on every database.
//
// lua-resty-session indexes a session that carries two or more audiences
// under the subject as given, not encoded: Sessions does not find those of
// its rows.
func (s *Store) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
	if !validName(name) {
		return nil, nil
	}
	sec := s.now(now).Unix()
	audience, subject = indexValue(audience), indexValue(subject)
	if err := s.prune(ctx, audience, subject, sec); err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q.list, audience, subject, name, sec)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	defer rows.Close()
	var entries []store.IndexEntry
	for rows.Next() {
		var (
			key string
			exp int64
		)
		if err := rows.Scan(&key, &exp); err != nil {
			return nil, fmt.Errorf("sqlstore: sessions: %w", err)
		}
		entries = append(entries, store.IndexEntry{Key: key, Expires: time.Unix(exp, 0)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	return entries, nil
}

// Cleanup deletes every record that expired before now (its expiry second
// is before now's), with its subject index entries, as lua-resty-session's
// cleanup does, and returns how many records it deleted. It then deletes
// (not counted) the group info of the groups that have no record left;
// once the store has capped a login, the lock rows of the cap that
// expired; and once it has served as a revocation backend (Revoke,
// Revoked), the revocation marks that expired by then. The cleaner
// (WithCleanupInterval) and the occasional cleanup on write call it; call
// it yourself from a scheduled job if you prefer.
func (s *Store) Cleanup(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	sec := now.Unix()
	clean := func(ex execer) error {
		res, err := ex.ExecContext(ctx, s.q.cleanup, sec)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}
	var err error
	if s.q.cleanMeta == "" {
		err = s.retry(ctx, func() error { return clean(s.db) })
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, s.q.cleanMeta, sec); err != nil {
				return err
			}
			return clean(tx)
		})
	}
	exec := func(stmt string, arg any) error {
		return s.retry(ctx, func() error {
			_, err := s.db.ExecContext(ctx, stmt, arg)
			return err
		})
	}
	if err == nil {
		err = exec(s.q.cleanInfo, sec)
	}
	if err == nil && s.limiting.Load() {
		err = exec(s.q.cleanLocks, sec)
	}
	if err == nil && s.revoking.Load() {
		err = s.retry(ctx, func() error { return s.cleanupMarks(ctx, s.d.markTime(now)) })
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: cleanup: %w", err)
	}
	return n, nil
}

// Stop ends the cleaner goroutine started by WithCleanupInterval and waits
// for it to return. It does not close the *sql.DB, which belongs to the
// caller. Stop is safe to call more than once, and on a Store without a
// cleaner.
func (s *Store) Stop() {
	if s.stop == nil {
		return
	}
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

func (s *Store) clean(interval time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(context.Background(), max(interval, time.Minute))
			go func() { // cancel the query as soon as Stop is called
				select {
				case <-s.stop:
				case <-ctx.Done():
				}
				cancel()
			}()
			_, _ = s.Cleanup(ctx, s.clock())
			cancel()
		}
	}
}

func (s *Store) maybeCleanup(ctx context.Context, now time.Time) {
	if s.probability > 0 && (s.probability >= 1 || rand.Float64() < s.probability) {
		_, _ = s.Cleanup(ctx, now)
	}
}

// prune deletes the records of the pair that expired before now (their
// index rows go with them) and the index rows whose record is gone (SQLite,
// whose foreign keys may be off). It finds them with a plain read, which
// locks nothing, then deletes each in a statement of its own by its
// primary key, so that it never holds one lock while waiting for another
// (a concurrent save could be waiting for the first).
func (s *Store) prune(ctx context.Context, audience, subject string, now int64) error {
	rows, err := s.db.QueryContext(ctx, s.q.pruneScan, audience, subject, now)
	if err != nil {
		return err
	}
	type stale struct {
		sid    string
		record bool // the record is there, expired; else the row is an orphan
	}
	var found []stale
	for rows.Next() {
		var sid string
		var record sql.NullString
		if err := rows.Scan(&sid, &record); err != nil {
			rows.Close()
			return err
		}
		found = append(found, stale{sid, record.Valid})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range found {
		err := s.retry(ctx, func() error {
			if !e.record {
				_, err := s.db.ExecContext(ctx, s.q.pruneRow, audience, subject, e.sid)
				return err
			}
			if s.q.cleanMeta == "" {
				_, err := s.db.ExecContext(ctx, s.q.pruneRecord, e.sid, now)
				return err
			}
			return s.inTxOnce(ctx, func(tx *sql.Tx) error { // SQLite: the index rows too
				res, err := tx.ExecContext(ctx, s.q.pruneRecord, e.sid, now)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil || n == 0 {
					return err
				}
				_, err = tx.ExecContext(ctx, s.q.deleteSidMeta, e.sid)
				return err
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) now(t time.Time) time.Time {
	if t.IsZero() {
		return s.clock()
	}
	return t
}

// inTx runs f in a transaction (at the dialect's isolation level),
// committing when it returns nil and rolling back otherwise; a transaction
// that loses a deadlock, or meets SQLITE_BUSY, is run again from the start.
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	return s.retry(ctx, func() error { return s.inTxOnce(ctx, f) })
}

func (s *Store) inTxOnce(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, s.d.txOptions())
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// seconds returns d in whole seconds, rounded up: a record lives at least
// as long as it was given.
func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// maxIndexValue is the width of the aud and sub columns on MySQL.
const maxIndexValue = 255

// indexValue is what the subject index stores for an encoded audience or
// subject: the value itself up to maxIndexValue bytes (so the index of
// every shorter value is what earlier versions wrote), beyond that
// "sha256:" and the base64url SHA-256 of the value. The colon never occurs
// in a base64url value, so a digest cannot be mistaken for a short one.
// All three databases store the same, which also keeps PostgreSQL's
// B-tree entries small.
func indexValue(v string) string {
	if len(v) <= maxIndexValue {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// indexValues applies indexValue to each of vs, in a new slice.
func indexValues(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = indexValue(v)
	}
	return out
}
