package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	session "github.com/sessiongo/session/core"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// Defaults of the test servers; CI's .ci/setup.d/20-sql.sh creates the
// databases.
const (
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/sessiongo_test?sslmode=disable"
	defaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/sessiongo_test?parseTime=true"
)

// database is one of the databases the tests run on.
type database struct {
	name    string
	dialect sqlstore.Dialect
	open    func(t testing.TB) *sql.DB
}

var databases = []database{
	{"postgres", sqlstore.Postgres, openPostgres},
	{"mariadb", sqlstore.MySQL, openMySQL},
	{"sqlite-file", sqlstore.SQLite, openSQLiteFile},
	{"sqlite-memory", sqlstore.SQLite, openSQLiteMemory},
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// unavailable skips the test, or fails it when CI requires the services.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("SESSIONGO_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s (SESSIONGO_REQUIRE_SERVICES=1)", msg)
	}
	t.Skipf("%s; start the server or set the DSN variable", msg)
}

func openServer(t testing.TB, driver, envName, def string) *sql.DB {
	t.Helper()
	dsn := env(envName, def)
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("sql.Open(%q): %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		unavailable(t, "%s at %s=%q is unreachable: %v", driver, envName, dsn, err)
	}
	return db
}

func openPostgres(t testing.TB) *sql.DB {
	return openServer(t, "pgx", "SESSIONGO_POSTGRES_DSN", defaultPostgresDSN)
}

func openMySQL(t testing.TB) *sql.DB {
	return openServer(t, "mysql", "SESSIONGO_MYSQL_DSN", defaultMySQLDSN)
}

// sqlitePragmas make concurrent writers wait for each other instead of
// failing with SQLITE_BUSY (for up to a minute: the conformance rules write
// to one file at the same time, on a machine that may be busy), and turn
// foreign keys on.
const sqlitePragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(60000)&_pragma=journal_mode(WAL)"

// openSQLiteFile opens a database file of its own in WAL mode. The file is
// switched to WAL (which it keeps) on one connection before the pool hands
// out others: connections that open a new file at the same time would race
// to switch it, and SQLite answers the losers SQLITE_BUSY without waiting
// for the busy timeout.
func openSQLiteFile(t testing.TB) *sql.DB {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "sessions.db") + "?" + sqlitePragmas
	first, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := first.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	first.Close()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openSQLiteMemory opens a private in-memory database on a single
// connection (an in-memory database lives as long as its connection).
func openSQLiteMemory(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	t.Cleanup(func() { db.Close() })
	return db
}

func randomSuffix() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freshTables migrates a pair of tables with a random name in db and drops
// them when the test ends; it returns the options that name them.
func freshTables(t testing.TB, db *sql.DB, d sqlstore.Dialect) []sqlstore.Option {
	t.Helper()
	table := "sessions_" + randomSuffix()
	opts := []sqlstore.Option{sqlstore.WithTable(table)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sqlstore.Migrate(ctx, db, d, opts...); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, tb := range []string{table + "_meta", table, table + "_revoked", table + "_groups", table + "_limits",
			table + "_meta_v0", table + "_v0"} {
			if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+tb); err != nil {
				t.Logf("drop %s: %v", tb, err)
			}
		}
	})
	return opts
}

// newStore returns a store on fresh tables of db; extra options follow the
// table name.
func newStore(t testing.TB, db *sql.DB, d sqlstore.Dialect, extra ...sqlstore.Option) (*sqlstore.Store, string) {
	t.Helper()
	opts := append(freshTables(t, db, d), extra...)
	s, err := sqlstore.New(db, d, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Stop)
	return s, tableOf(t, opts)
}

// tableOf applies opts to find the sessions table they name.
func tableOf(t testing.TB, opts []sqlstore.Option) string {
	t.Helper()
	ddl, err := sqlstore.Schema(sqlstore.Postgres, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var table string
	fmt.Sscanf(ddl, "CREATE TABLE IF NOT EXISTS %s", &table)
	return table
}

// forEachDatabase runs f as a subtest on every database.
func forEachDatabase(t *testing.T, f func(t *testing.T, db *sql.DB, d sqlstore.Dialect)) {
	for _, database := range databases {
		t.Run(database.name, func(t *testing.T) {
			f(t, database.open(t), database.dialect)
		})
	}
}

// at is the SQL of an exp value whose Unix seconds are the i-th parameter,
// as the store (and lua-resty-session) writes it.
func at(d sqlstore.Dialect, i int) string {
	switch d {
	case sqlstore.Postgres:
		return fmt.Sprintf("(TO_TIMESTAMP($%d) AT TIME ZONE 'UTC')", i)
	case sqlstore.MySQL:
		return "FROM_UNIXTIME(?)"
	}
	return "?"
}

// unix is the SQL that reads the exp column col as Unix seconds.
func unix(d sqlstore.Dialect, col string) string {
	switch d {
	case sqlstore.Postgres:
		return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + "::timestamp)) AS BIGINT)"
	case sqlstore.MySQL:
		return "CAST(UNIX_TIMESTAMP(" + col + ") AS SIGNED)"
	}
	return col
}

func countRows(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

var _ session.Store = (*sqlstore.Store)(nil)
