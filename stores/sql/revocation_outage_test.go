package sqlstore_test

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/sessiongo/session/conformance"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// tcpProxy relays TCP connections from a loopback port of the test's own
// to a database server: the test's *sql.DB connects through it, so that
// the test can cut the shared server off from that *sql.DB alone, as a
// network failure would, without touching the server.
type tcpProxy struct {
	l      net.Listener
	target string

	mu     sync.Mutex
	state  string // "up", "stopped" or "frozen"
	conns  []net.Conn
	closed bool
}

// startProxy listens on a spare loopback port and relays to target until
// the test ends.
func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l, target: target, state: "up"}
	go p.accept()
	t.Cleanup(func() { p.set("stopped") })
	return p
}

func (p *tcpProxy) addr() string { return p.l.Addr().String() }

// track keeps c to close it when the proxy stops; it reports false (and
// closes c) when the proxy has stopped already.
func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == "stopped" {
		c.Close()
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *tcpProxy) accept() {
	for {
		client, err := p.l.Accept()
		if err != nil {
			return // stopped
		}
		if !p.track(client) {
			continue
		}
		p.mu.Lock()
		frozen := p.state == "frozen"
		p.mu.Unlock()
		if frozen {
			continue // accepted, never answered
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(server) {
			client.Close()
			continue
		}
		go p.relay(client, server)
		go p.relay(server, client)
	}
}

// relay copies from src to dst; when src ends, it closes dst, unless the
// proxy is frozen: a frozen proxy leaves its clients waiting.
func (p *tcpProxy) relay(dst, src net.Conn) {
	io.Copy(dst, src)
	p.mu.Lock()
	frozen := p.state == "frozen"
	p.mu.Unlock()
	if !frozen {
		dst.Close()
	}
}

// set breaks the proxy. "stopped": the port is closed and every
// connection reset, as when the server is gone. "frozen": the
// connections to the server are closed, but the clients' are kept open
// and new ones accepted, and nothing is answered, as when the server or
// the network hangs.
func (p *tcpProxy) set(state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = state
	if state == "stopped" {
		p.l.Close()
	}
	kept := p.conns[:0]
	for _, c := range p.conns {
		// Clients are the accepted connections: their local address is
		// the proxy's.
		if state == "frozen" && c.LocalAddr().String() == p.addr() {
			kept = append(kept, c)
			continue
		}
		c.Close()
	}
	p.conns = kept
}

// proxiedDB opens a *sql.DB of the driver reaching the server of dsn
// through a proxy of the test's own, and returns it with the proxy.
func proxiedDB(t *testing.T, driver, dsn string) (*sql.DB, *tcpProxy) {
	t.Helper()
	var p *tcpProxy
	switch driver {
	case "pgx":
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		p = startProxy(t, u.Host)
		u.Host = p.addr()
		dsn = u.String()
	case "mysql":
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		p = startProxy(t, cfg.Addr)
		cfg.Addr = p.addr()
		dsn = cfg.FormatDSN()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, p
}

// TestRevocationOutage runs the store as the revocation backend of cookie
// sessions with its database made unreachable in the middle of the rule:
// FailClosed and FailOpen, and the cache of lookups (hits, expiry, cached
// failures) counted on the real database. PostgreSQL and MariaDB are the
// shared servers, reached through a TCP proxy of the test's own that the
// rule stops (the port closed, every connection reset) or freezes (nothing
// answered); the tables are made and dropped on a direct connection.
// SQLite's *sql.DB is closed.
func TestRevocationOutage(t *testing.T) {
	t.Parallel()
	servers := []struct {
		name, driver, env, def string
		dialect                sqlstore.Dialect
	}{
		{"postgres", "pgx", "SESSIONGO_POSTGRES_DSN", defaultPostgresDSN, sqlstore.Postgres},
		{"mariadb", "mysql", "SESSIONGO_MYSQL_DSN", defaultMySQLDSN, sqlstore.MySQL},
	}
	for _, srv := range servers {
		for _, state := range []string{"stopped", "frozen"} {
			t.Run(srv.name+"/"+state, func(t *testing.T) {
				t.Parallel()
				direct := openServer(t, srv.driver, srv.env, srv.def)
				opts := freshTables(t, direct, srv.dialect)
				db, proxy := proxiedDB(t, srv.driver, env(srv.env, srv.def))
				s, err := sqlstore.New(db, srv.dialect, opts...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(s.Stop)
				conformance.TestRevocationOutage(t, s, func() { proxy.set(state) })
			})
		}
	}
	t.Run("sqlite/closed", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "sessions.db")
		open := func() *sql.DB {
			db, err := sql.Open("sqlite", "file:"+path+"?"+sqlitePragmas)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		opts := freshTables(t, open(), sqlstore.SQLite)
		db := open()
		s, err := sqlstore.New(db, sqlstore.SQLite, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		conformance.TestRevocationOutage(t, s, func() {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestProxyBreaks checks the proxy the outage test relies on: through it
// the database answers; stopped, it refuses at once; frozen, it hangs
// until the context ends.
func TestProxyBreaks(t *testing.T) {
	t.Parallel()
	for _, state := range []string{"stopped", "frozen"} {
		t.Run(state, func(t *testing.T) {
			t.Parallel()
			openServer(t, "pgx", "SESSIONGO_POSTGRES_DSN", defaultPostgresDSN) // skips when it is not there
			db, proxy := proxiedDB(t, "pgx", env("SESSIONGO_POSTGRES_DSN", defaultPostgresDSN))
			if err := db.PingContext(t.Context()); err != nil {
				t.Fatalf("Ping through the proxy: %v", err)
			}
			proxy.set(state)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			err := db.PingContext(ctx)
			switch {
			case err == nil:
				t.Fatalf("Ping through a %s proxy succeeded", state)
			case state == "stopped" && ctx.Err() != nil:
				t.Errorf("Ping through a stopped proxy waited for the context (%v); want a refusal at once", err)
			case state == "frozen" && ctx.Err() == nil:
				t.Errorf("Ping through a frozen proxy failed before the context ended: %v; want it to hang", err)
			}
		})
	}
}
