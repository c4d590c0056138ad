package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	session "github.com/sessiongo/session/core"
)

// Store keeps session records in a SQL database through database/sql. It
// implements session.Store, session.SubjectIndex and session.Stopper, and
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

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

var (
	_ session.Store        = (*Store)(nil)
	_ session.SubjectIndex = (*Store)(nil)
	_ session.Stopper      = (*Store)(nil)
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
		return nil, fmt.Errorf("sqlstore: invalid dialect (use sqlstore.Postgres, MySQL or SQLite): %w",
			session.ErrInvalidConfig)
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
func (s *Store) Get(ctx context.Context, name, key string, opts session.GetOptions) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, s.q.get, key, name, s.d.timeArg(s.now(opts.Now))).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s %s: %w", name, key, session.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Set stores value under name and key until opts.Now + opts.TTL. In one
// transaction it also shortens the expiry of the record under opts.OldKey
// to opts.Now + opts.StaleTTL (never lengthening it), and moves the
// subject index entries of each audience and subject pair of
// opts.Metadata from opts.OldKey to key (the old record stays readable but
// is no longer listed, as in lua-resty-session's Redis store). A
// failure rolls the whole transaction back, so the previous record stays
// as it was. Afterwards, index entries of expired sessions of those pairs
// are pruned and, with the cleanup probability, every expired row is
// deleted; failures of this housekeeping are not reported, since the
// record was stored.
func (s *Store) Set(ctx context.Context, name, key string, value []byte, opts session.SetOptions) error {
	if opts.TTL <= 0 {
		return fmt.Errorf("sqlstore: ttl %v is not positive", opts.TTL)
	}
	var pairs int
	if md := opts.Metadata; md != nil {
		if len(md.Audiences) != len(md.Subjects) {
			return fmt.Errorf("sqlstore: metadata has %d audiences but %d subjects",
				len(md.Audiences), len(md.Subjects))
		}
		pairs = len(md.Audiences)
	}
	now := s.now(opts.Now)
	upsertArgs := []any{key, name, value, s.d.timeArg(now.Add(opts.TTL))}
	shorten := opts.OldKey != "" && opts.OldKey != key

	if !shorten && pairs == 0 {
		if _, err := s.db.ExecContext(ctx, s.q.upsert, upsertArgs...); err != nil {
			return fmt.Errorf("sqlstore: set: %w", err)
		}
	} else {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, s.q.upsert, upsertArgs...); err != nil {
				return err
			}
			if shorten {
				stale := s.d.timeArg(now.Add(max(opts.StaleTTL, 0)))
				if _, err := tx.ExecContext(ctx, s.q.shorten, stale, opts.OldKey, name, stale); err != nil {
					return err
				}
			}
			if shorten && pairs > 0 {
				args := make([]any, 0, 2+2*pairs)
				args = append(args, opts.OldKey, name)
				for i := range pairs {
					args = append(args, opts.Metadata.Audiences[i], opts.Metadata.Subjects[i])
				}
				if _, err := tx.ExecContext(ctx, s.d.dropMeta(s.t, pairs), args...); err != nil {
					return err
				}
			}
			if pairs > 0 {
				args := make([]any, 0, 4*pairs)
				for i := range pairs {
					args = append(args, opts.Metadata.Audiences[i], opts.Metadata.Subjects[i], name, key)
				}
				if _, err := tx.ExecContext(ctx, s.d.insertMeta(s.t, pairs), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sqlstore: set: %w", err)
		}
		for i := range pairs {
			_ = s.prune(ctx, opts.Metadata.Audiences[i], opts.Metadata.Subjects[i], now)
		}
	}
	s.maybeCleanup(ctx, now)
	return nil
}

// Delete removes the record under name and key; its subject index entries
// go with it (ON DELETE CASCADE, and an explicit delete on SQLite, whose
// foreign keys are off unless the connection turns them on). Deleting a
// missing record is not an error.
func (s *Store) Delete(ctx context.Context, name, key string, opts session.DeleteOptions) error {
	var err error
	if s.q.deleteMeta == "" {
		_, err = s.db.ExecContext(ctx, s.q.deleteRow, key, name)
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, s.q.deleteMeta, key, name); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.q.deleteRow, key, name)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete: %w", err)
	}
	s.maybeCleanup(ctx, s.now(opts.Now))
	return nil
}

// Sessions lists the sessions of cookie name in the subject index of an
// encoded audience and subject that are live at now (expire after it),
// soonest expiry first. Index entries of expired or deleted sessions of the pair are
// pruned first.
func (s *Store) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]session.IndexEntry, error) {
	now = s.now(now)
	if err := s.prune(ctx, audience, subject, now); err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q.list, audience, subject, name, s.d.timeArg(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	defer rows.Close()
	var entries []session.IndexEntry
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
		entries = append(entries, session.IndexEntry{Key: key, Expires: t})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: sessions: %w", err)
	}
	return entries, nil
}

// Cleanup deletes every record that expired at or before now, with its subject
// index entries, and returns how many records it deleted. The cleaner
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
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, s.q.cleanMeta, arg); err != nil {
				return err
			}
			return clean(tx)
		})
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

func (s *Store) prune(ctx context.Context, audience, subject string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q.prune, audience, subject, s.d.timeArg(now))
	return err
}

func (s *Store) now(t time.Time) time.Time {
	if t.IsZero() {
		return s.clock()
	}
	return t
}

// inTx runs f in a transaction, committing when it returns nil and rolling
// back otherwise.
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
