package sqlstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"time"
)

// Writes that lose a race inside the database are run again, a few times,
// rather than failed: a transaction that InnoDB or PostgreSQL chose as the
// victim of a deadlock (it was rolled back whole), and a statement that
// SQLite answered with SQLITE_BUSY or SQLITE_LOCKED, which it does without
// waiting for the busy timeout in some cases (a connection switching the
// file to WAL, a read transaction that would have to become a write). Each
// attempt starts from scratch, so a save that runs again after a
// concurrent Delete won still finds its old record gone.
const (
	maxAttempts  = 6
	retryBackoff = 5 * time.Millisecond // doubled at each attempt, with jitter
	maxBackoff   = 200 * time.Millisecond
)

// retry runs f until it succeeds, fails with an error that running it again
// cannot cure, the attempts run out or ctx ends; it returns f's last error.
func (s *Store) retry(ctx context.Context, f func() error) error {
	return retry(ctx, s.onRetry, f)
}

func retry(ctx context.Context, onRetry func(error), f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		if onRetry != nil {
			onRetry(err)
		}
		wait := min(retryBackoff<<(attempt-1), maxBackoff)
		wait = wait/2 + rand.N(wait/2+1) // jitter, so that the losers do not meet again
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryable reports whether err, or an error it wraps, is a deadlock or a
// serialization failure (SQLSTATE 40P01, 40001: PostgreSQL; MySQL error
// 1213) or SQLITE_BUSY / SQLITE_LOCKED. The package imports no driver, so it
// recognises the drivers' errors by their methods (pgx, lib/pq:
// SQLState(); modernc.org/sqlite: Code()) or, for the two drivers whose
// error types have no such method (go-sql-driver/mysql, mattn/go-sqlite3),
// by their fields.
func retryable(err error) bool {
	found := false
	walk(err, func(e error) bool {
		found = retryableOne(e)
		return found
	})
	return found
}

// walk calls f on err and every error it wraps until f returns true.
func walk(err error, f func(error) bool) bool {
	for err != nil {
		if f(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e, f) {
					return true
				}
			}
			return false
		default:
			err = errors.Unwrap(err)
		}
	}
	return false
}

func retryableOne(e error) bool {
	if x, ok := e.(interface{ SQLState() string }); ok {
		switch x.SQLState() {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	v := reflect.ValueOf(e)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return false
	}
	switch v.Type().PkgPath() {
	case "modernc.org/sqlite":
		if x, ok := e.(interface{ Code() int }); ok {
			return sqliteBusy(int64(x.Code()))
		}
	case "github.com/mattn/go-sqlite3":
		if f := v.FieldByName("Code"); f.IsValid() && f.CanInt() {
			return sqliteBusy(f.Int())
		}
	case "github.com/go-sql-driver/mysql":
		if f := v.FieldByName("Number"); f.IsValid() && f.CanUint() {
			return f.Uint() == 1213 // ER_LOCK_DEADLOCK
		}
	}
	return false
}

// sqliteBusy reports whether an SQLite result code (primary or extended)
// is SQLITE_BUSY (5) or SQLITE_LOCKED (6).
func sqliteBusy(code int64) bool {
	switch code & 0xff {
	case 5, 6:
		return true
	}
	return false
}
