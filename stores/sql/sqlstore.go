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
// implements session.Store, store.SubjectIndex and store.Stopper, and
// is safe for concurrent use. Create it with New.
//
// Expiry is compared against the session library's time given in
// GetOptions.Now, SetOptions.Now and DeleteOptions.Now (the Manager's
// Config.Clock), never against the database server's clock, so tests can
// move time forward without sleeping and servers with a skewed clock do no
// harm.
type Store struct {
	db          *sql.DB
	d           Dialect
	t           names
	q           queries
	probability float64
	clock       func() time.Time
	revoking    atomic.Bool // served as a revocation backend: Cleanup deletes expired marks too

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
// otherwise. The tables must exist: create them with Migrate or with the
// DDL that Schema returns. New does not touch the database; a nil db, an
// invalid dialect or an invalid option is an error that matches
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

// Get returns the record stored under name and key while opts.Now (the
// store's clock when zero, see WithClock) is before its expiry. A missing or expired record is an
// error that matches session.ErrNotFound; a database failure is returned
// wrapped.
func (s *Store) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, s.q.get, key, name, s.d.timeArg(s.now(opts.Now))).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(name, key)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Set stores value under name and key until opts.Now + opts.TTL, as one
// transaction whenever it writes more than the record:
//
//   - With opts.OldKey, the live record under OldKey is locked; if there is
//     none, Set stores nothing and returns an error that matches
//     session.ErrNotFound. Its expiry is shortened to opts.Now +
//     opts.StaleTTL (never lengthened; a StaleTTL of zero deletes it), it
//     leaves the subject index of each audience and subject pair of
//     opts.Metadata, and the new record joins its group.
//   - With opts.Partner, the live partner record is locked in the same way
//     and the new record joins its group instead.
//   - Without either, a new record starts a group of its own; rewriting an
//     existing key keeps its group.
//   - With opts.Metadata, key joins the index of each pair.
//
// A failure rolls the whole transaction back, so the previous record stays
// as it was. Afterwards, index entries of expired sessions of those pairs
// are pruned and, with the cleanup probability, every expired row is
// deleted; failures of this housekeeping are not reported, since the
// record was stored.
//
// With opts.Replace, Set only replaces the value of the live record under
// key, keeping its expiry, group and index entries, and returns an error
// that matches session.ErrNotFound when there is none.
//
// Audiences and subjects longer than 255 bytes are indexed by their
// SHA-256 digest (see Sessions), so none is ever cut short or refused.
func (s *Store) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	now := s.now(opts.Now)
	if value == nil {
		value = []byte{} // data is NOT NULL; database/sql binds a nil slice as NULL
	}
	if opts.Replace {
		if err := s.replace(ctx, name, key, value, now); err != nil {
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
	exp, group := s.d.timeArg(now.Add(opts.TTL)), newGroup()
	if opts.OldKey == "" && opts.Partner.IsZero() && len(aud) == 0 {
		if _, err := s.db.ExecContext(ctx, s.q.insert, key, name, value, exp, group); err != nil {
			return fmt.Errorf("sqlstore: set: %w", err)
		}
		s.maybeCleanup(ctx, now)
		return nil
	}
	err := s.inTx(ctx, s.d.txOptions(), func(tx *sql.Tx) error {
		stmt, old := s.q.insert, actNone
		if opts.OldKey != "" {
			old = actShorten
			switch {
			case opts.OldKey == key:
				old = actKeep // rewritten in place: nothing to shorten
			case opts.StaleTTL <= 0:
				old = actRetire
			}
			g, err := s.lockGroup(ctx, tx, old, name, opts.OldKey, now, now.Add(opts.StaleTTL), group)
			if err != nil {
				return err
			}
			stmt, group = s.q.join, g
		}
		if p := opts.Partner; !p.IsZero() {
			g, err := s.lockGroup(ctx, tx, actKeep, p.Name, p.Key, now, now, group)
			if err != nil {
				return err
			}
			stmt, group = s.q.join, g
		}
		if _, err := tx.ExecContext(ctx, stmt, key, name, value, exp, group); err != nil {
			return err
		}
		if old == actShorten && len(aud) > 0 {
			args := make([]any, 0, 2+2*len(aud))
			args = append(args, opts.OldKey, name)
			for i := range aud {
				args = append(args, aud[i], sub[i])
			}
			if _, err := tx.ExecContext(ctx, s.d.dropMeta(s.t, len(aud)), args...); err != nil {
				return err
			}
		}
		if len(aud) > 0 {
			args := make([]any, 0, 4*len(aud))
			for i := range aud {
				args = append(args, aud[i], sub[i], name, key)
			}
			if _, err := tx.ExecContext(ctx, s.d.insertMeta(s.t, len(aud)), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set: %w", err)
	}
	for i := range aud {
		_ = s.prune(ctx, aud[i], sub[i], now)
	}
	s.maybeCleanup(ctx, now)
	return nil
}

// replace updates the data of the live record under name and key.
func (s *Store) replace(ctx context.Context, name, key string, value []byte, now time.Time) error {
	live := s.d.timeArg(now)
	res, err := s.db.ExecContext(ctx, s.q.replace, value, key, name, live)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	// MySQL counts the rows it changed, not those it found: rewriting a
	// record with its own value changes none.
	var one int
	err = s.db.QueryRowContext(ctx, s.q.exists, key, name, live).Scan(&one)
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
// unless the connection turns them on), whatever opts.Metadata says.
// Deleting a missing record is not an error.
func (s *Store) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	err := s.inTx(ctx, s.d.txOptions(), func(tx *sql.Tx) error { return s.deleteGroup(ctx, tx, name, key) })
	if err != nil {
		return fmt.Errorf("sqlstore: delete: %w", err)
	}
	s.maybeCleanup(ctx, s.now(opts.Now))
	return nil
}

// Sessions lists the sessions of cookie name in the subject index of an
// encoded audience and subject that are live at now (expire after it),
// soonest expiry first. Index entries of expired or deleted sessions of the
// pair are pruned first. An audience or subject of any length works: beyond
// 255 bytes (the width of MySQL's columns) the index holds its SHA-256
// instead, on every database.
func (s *Store) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
	now = s.now(now)
	audience, subject = indexValue(audience), indexValue(subject)
	if err := s.prune(ctx, audience, subject, now); err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q.list, audience, subject, name, s.d.timeArg(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	defer rows.Close()
	var entries []store.IndexEntry
	for rows.Next() {
		var (
			key string
			exp any
		)
		if err := rows.Scan(&key, &exp); err != nil {
			return nil, fmt.Errorf("sqlstore: sessions: %w", err)
		}
		t, err := s.d.scanTime(exp)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: sessions: %w", err)
		}
		entries = append(entries, store.IndexEntry{Key: key, Expires: t})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	return entries, nil
}

// Cleanup deletes every record that expired at or before now, with its subject
// index entries, and returns how many records it deleted; once the store
// has served as a revocation backend (Revoke, Revoked), it also deletes the
// revocation marks that expired by then (not counted). The cleaner
// (WithCleanupInterval) and the occasional cleanup on write call it; call
// it yourself from a scheduled job if you prefer.
func (s *Store) Cleanup(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	arg := s.d.timeArg(now)
	clean := func(ex interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}) error {
		res, err := ex.ExecContext(ctx, s.q.cleanup, arg)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}
	var err error
	if s.q.cleanMeta == "" {
		err = clean(s.db)
	} else {
		err = s.inTx(ctx, s.d.txOptions(), func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, s.q.cleanMeta, arg); err != nil {
				return err
			}
			return clean(tx)
		})
	}
	if err == nil && s.revoking.Load() {
		err = s.cleanupMarks(ctx, arg)
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

// prune removes the index entries of the pair whose records are gone or
// expired at now. It finds them with a plain read, which locks nothing,
// then deletes each in a statement of its own by its primary key, so that
// it never holds one lock while waiting for another (a concurrent save
// could be waiting for the first).
func (s *Store) prune(ctx context.Context, audience, subject string, now time.Time) error {
	rows, err := s.db.QueryContext(ctx, s.q.pruneScan, audience, subject, s.d.timeArg(now))
	if err != nil {
		return err
	}
	var stale [][2]string
	for rows.Next() {
		var name, sid string
		if err := rows.Scan(&name, &sid); err != nil {
			rows.Close()
			return err
		}
		stale = append(stale, [2]string{name, sid})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range stale {
		if _, err := s.db.ExecContext(ctx, s.q.pruneRow, audience, subject, e[0], e[1]); err != nil {
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

// inTx runs f in a transaction with opts, committing when it returns nil
// and rolling back otherwise.
func (s *Store) inTx(ctx context.Context, opts *sql.TxOptions, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
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
