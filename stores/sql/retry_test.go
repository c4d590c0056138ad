package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"postgres deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"postgres serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"postgres unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213}, true},
		{"mysql lock wait timeout", &mysql.MySQLError{Number: 1205}, false},
		{"mysql syntax error", &mysql.MySQLError{Number: 1064}, false},
		{"wrapped", fmt.Errorf("begin: %w", &mysql.MySQLError{Number: 1213}), true},
		{"joined", errors.Join(errors.New("rollback failed"), &pgconn.PgError{Code: "40P01"}), true},
		{"plain", errors.New("deadlock"), false},
		{"nil pointer", (*mysql.MySQLError)(nil), false},
		{"context", context.Canceled, false},
	}
	for _, tt := range tests {
		if got := sqlstore.Retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%s: %v) = %v; want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// deadlockServers are the servers that break deadlocks by failing a
// transaction, with the SQL that tells whether another connection is
// running a statement.
var deadlockServers = []struct {
	name    string
	open    func(testing.TB) *sql.DB
	d       sqlstore.Dialect
	running string // one parameter: a LIKE pattern of the statement
}{
	{"postgres", openPostgres, sqlstore.Postgres,
		"SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()"},
	{"mariadb", openMySQL, sqlstore.MySQL,
		"SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE ? AND id <> CONNECTION_ID()"},
}

// TestDeadlockRetried makes a Delete the victim of a deadlock, every time:
// a transaction of the test locks the second record of a group, Delete
// locks the first and waits for the second, then the test's transaction
// asks for the first. The database fails one of the two, and the test
// arranges for it to be Delete's: InnoDB fails the lighter transaction
// (the test's has written 100 rows), PostgreSQL the one whose deadlock
// check runs first (the test's waits 60 s before checking). Delete must
// run its transaction again and succeed, not return the deadlock (as
// TestDeleteRacesSaves once saw MariaDB's error 1213 under load).
func TestDeadlockRetried(t *testing.T) {
	for _, server := range deadlockServers {
		t.Run(server.name, func(t *testing.T) {
			ctx := context.Background()
			db := server.open(t)
			s, table := newStore(t, db, server.d, sqlstore.WithCleanupProbability(0))
			set(t, s, "session", "a", "a", store.SetOptions{})
			set(t, s, "session", "b", "b", store.SetOptions{OldKey: "a", StaleTTL: time.Hour}) // a's group
			var retried []error
			var mu sync.Mutex
			sqlstore.SetRetryHook(s, func(err error) { mu.Lock(); retried = append(retried, err); mu.Unlock() })

			blocker, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer blocker.Rollback()
			if server.d == sqlstore.Postgres {
				if _, err := blocker.Exec("SET LOCAL deadlock_timeout = '60s'"); err != nil {
					t.Fatal(err)
				}
			} else {
				heavy := "INSERT INTO " + table + " (sid, name, data, exp) VALUES "
				for i := range 100 {
					if i > 0 {
						heavy += ", "
					}
					heavy += fmt.Sprintf("('heavy-%d', 'session', 'x', FROM_UNIXTIME(%d))", i, t0.Unix()+3600)
				}
				if _, err := blocker.Exec(heavy); err != nil {
					t.Fatal(err)
				}
			}
			lock := "SELECT sid FROM " + table + " WHERE sid = " + ph(server.d) + " FOR UPDATE"
			var sid string
			if err := blocker.QueryRow(lock, "b").Scan(&sid); err != nil {
				t.Fatal(err)
			}

			done := make(chan error, 1)
			go func() { done <- s.Delete(ctx, "session", "a", store.DeleteOptions{Now: t0}) }()
			deadline := time.Now().Add(30 * time.Second)
			for {
				var n int
				if err := db.QueryRow(server.running, "%DELETE FROM "+table+" WHERE grp%").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n > 0 {
					break // Delete has deleted a, which it holds, and deletes its group: b
				}
				select {
				case err := <-done:
					t.Fatalf("Delete returned %v before waiting for the blocked record", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("Delete did not come to the record the test locked")
				}
				time.Sleep(5 * time.Millisecond) // polling the server's own lock table
			}
			// The cycle: the test's transaction asks for a, which Delete
			// holds. The database fails Delete's transaction, which frees a.
			if err := blocker.QueryRow(lock, "a").Scan(&sid); err != nil {
				t.Fatalf("the test's transaction was chosen as the deadlock victim: %v", err)
			}
			if err := blocker.Rollback(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("Delete returned the deadlock: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(retried) == 0 || !sqlstore.Retryable(retried[0]) {
				t.Fatalf("Delete ran %d times again (%v); want a retry after the deadlock", len(retried), retried)
			}
			t.Logf("retried after: %v", retried[0])
			wantGet(t, s, "session", "a", t0, "")
			wantGet(t, s, "session", "b", t0, "")
		})
	}
}

// TestSQLiteBusyRetried makes SQLite answer a save SQLITE_BUSY: another
// connection holds the write lock of a file opened without a busy timeout.
// The save must run again and succeed once the lock is released (as
// TestConformance/sqlite-file once saw SQLITE_BUSY).
func TestSQLiteBusyRetried(t *testing.T) {
	ctx := context.Background()
	dsn := "file:" + filepath.Join(t.TempDir(), "busy.db") + "?_pragma=journal_mode(WAL)" // no busy_timeout: BUSY at once
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, _ := newStore(t, db, sqlstore.SQLite, sqlstore.WithCleanupProbability(0))

	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var (
		mu       sync.Mutex
		retried  []error
		released bool
	)
	sqlstore.SetRetryHook(s, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		retried = append(retried, err)
		if !released { // the first failure has happened: release the lock
			released = true
			if _, err := holder.ExecContext(ctx, "COMMIT"); err != nil {
				t.Error(err)
			}
		}
	})
	for _, opts := range []store.SetOptions{{}, {Metadata: subject("alice")}} { // one statement, a transaction
		if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		retried, released = nil, false
		mu.Unlock()
		if err := trySet(s, "session", "k", "v", opts); err != nil {
			t.Fatalf("Set while another connection writes: %v", err)
		}
		mu.Lock()
		if len(retried) == 0 || !sqlstore.Retryable(retried[0]) {
			t.Fatalf("Set ran %d times again (%v); want a retry after SQLITE_BUSY", len(retried), retried)
		}
		t.Logf("retried after: %v", retried[0])
		mu.Unlock()
		wantGet(t, s, "session", "k", t0, "v")
	}
}
