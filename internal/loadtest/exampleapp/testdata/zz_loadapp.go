// This file is compiled into examples/nethttp (package main) by
// exampleapp.Build, through go build -overlay: the example stays as it is,
// and this file serves the example's own handler (newHandler) with the
// example's own configuration (newConfig) on the store the harness names.
// Without SESSIONGO_LOADAPP in the environment it does nothing, and the
// example's main runs.

package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
	redisstore "github.com/sessiongo/session/stores/redis"
	sqlstore "github.com/sessiongo/session/stores/sql"
	_ "modernc.org/sqlite"
)

func init() {
	if os.Getenv("SESSIONGO_LOADAPP") == "" {
		return
	}
	if err := runLoadApp(); err != nil {
		fmt.Fprintln(os.Stderr, "loadapp:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// loadStore is a store the harness asked for: what the Manager takes, and
// what to close at the end.
type loadStore struct {
	st interface {
		session.Store
		store.Revoker
	}
	close func()
}

// openLoadStore opens the store named by SESSIONGO_LOADAPP_STORE at
// SESSIONGO_LOADAPP_TARGET, its keys (or tables) under
// SESSIONGO_LOADAPP_PREFIX. Clients time out within a second or two, so that
// a request during an outage fails instead of hanging.
func openLoadStore(ctx context.Context) (*loadStore, error) {
	kind, target := os.Getenv("SESSIONGO_LOADAPP_STORE"), os.Getenv("SESSIONGO_LOADAPP_TARGET")
	prefix := os.Getenv("SESSIONGO_LOADAPP_PREFIX")
	if prefix == "" {
		prefix = "loadapp"
	}
	const timeout = time.Second
	switch kind {
	case "memory":
		st, err := session.NewMemoryStore()
		return &loadStore{st: st, close: func() {}}, err
	case "redis", "sentinel", "cluster":
		var c redis.UniversalClient
		var opts []redisstore.Option
		switch kind {
		case "redis":
			c = redis.NewClient(&redis.Options{Addr: target, DialTimeout: timeout, ReadTimeout: timeout,
				WriteTimeout: timeout, PoolTimeout: 2 * timeout, ContextTimeoutEnabled: true})
		case "sentinel": // "master@addr,addr,..."
			master, addrs, ok := strings.Cut(target, "@")
			if !ok {
				return nil, fmt.Errorf("sentinel target %q: want master@addr,addr", target)
			}
			c = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: master, SentinelAddrs: strings.Split(addrs, ","),
				DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, PoolTimeout: 2 * timeout,
				ContextTimeoutEnabled: true})
			if n, _ := strconv.Atoi(os.Getenv("SESSIONGO_LOADAPP_WAIT_REPLICAS")); n > 0 {
				opts = append(opts, redisstore.WithWaitReplicas(n, timeout))
			}
		case "cluster":
			c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(target, ","), DialTimeout: timeout,
				ReadTimeout: timeout, WriteTimeout: timeout, PoolTimeout: 2 * timeout, ContextTimeoutEnabled: true})
		}
		st, err := redisstore.New(c, append(opts, redisstore.WithPrefix(prefix))...)
		if err != nil {
			c.Close()
			return nil, err
		}
		return &loadStore{st: st, close: func() { c.Close() }}, nil
	case "memcached":
		c := memcache.New(strings.Split(target, ",")...)
		c.Timeout = timeout
		c.MaxIdleConns = 64
		st, err := memcachedstore.New(c, memcachedstore.WithPrefix(prefix))
		if err != nil {
			return nil, err
		}
		return &loadStore{st: st, close: func() { c.Close() }}, nil
	case "postgres", "mariadb", "sqlite":
		driver, dialect := map[string]string{"postgres": "pgx", "mariadb": "mysql", "sqlite": "sqlite"}[kind],
			map[string]sqlstore.Dialect{"postgres": sqlstore.Postgres, "mariadb": sqlstore.MariaDB, "sqlite": sqlstore.SQLite}[kind]
		db, err := sql.Open(driver, target)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxLifetime(time.Minute)
		table := strings.ReplaceAll(prefix, "-", "_")
		if err := sqlstore.Migrate(ctx, db, dialect, sqlstore.WithTable(table)); err != nil {
			db.Close()
			return nil, err
		}
		st, err := sqlstore.New(db, dialect, sqlstore.WithTable(table))
		if err != nil {
			db.Close()
			return nil, err
		}
		return &loadStore{st: st, close: func() { st.Stop(); db.Close() }}, nil
	}
	return nil, fmt.Errorf("unknown SESSIONGO_LOADAPP_STORE %q", kind)
}

// runLoadApp serves the example on the store until SIGTERM or SIGINT.
//
// SESSIONGO_LOADAPP_MODE "cookie" (the default) is the example as its
// documentation describes it in production: sessions in the cookie,
// revocation in the shared store (newConfig's revocations). "server" keeps
// the sessions themselves in the store (Config.Store); revocation is then
// the store's delete, and the example's logout, which revokes its sign-in
// key with Manager.Revoke, needs cookie storage and fails.
//
// It listens on SESSIONGO_LOADAPP_ADDR (default 127.0.0.1:0) and prints
// "LISTEN host:port" on stdout once it serves. With SESSIONGO_LOADAPP_TLS_CERT
// and _KEY it serves HTTPS, with Secure cookies; SESSIONGO_LOADAPP_COOKIE_PREFIX
// "host" names them __Host-. Beside the example's routes it serves, for the
// tests only, POST /grow (adds "bytes" random characters to the session, to
// make it larger than one cookie) and GET /debug/loadapp (memory figures, as
// JSON).
func runLoadApp() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, err := openLoadStore(ctx)
	if err != nil {
		return err
	}
	defer st.close()

	addr := os.Getenv("SESSIONGO_LOADAPP_ADDR")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	secret := os.Getenv("SESSIONGO_LOADAPP_SECRET")
	if secret == "" {
		secret = "loadapp-" + rand.Text()
	}
	var cfg session.Config
	switch mode := os.Getenv("SESSIONGO_LOADAPP_MODE"); mode {
	case "", "cookie":
		cfg = newConfig(secret, st.st, l.Addr().String())
	case "server":
		cfg = newConfig(secret, nil, l.Addr().String())
		cfg.Store = st.st
	default:
		return fmt.Errorf("unknown SESSIONGO_LOADAPP_MODE %q", mode)
	}
	certFile, keyFile := os.Getenv("SESSIONGO_LOADAPP_TLS_CERT"), os.Getenv("SESSIONGO_LOADAPP_TLS_KEY")
	if certFile != "" {
		cfg.DisableSecure = false
	}
	if os.Getenv("SESSIONGO_LOADAPP_COOKIE_PREFIX") == "host" {
		cfg.CookiePrefix = session.PrefixHost
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := session.New(cfg)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("POST /grow", m.Middleware()(http.HandlerFunc(grow)))
	mux.HandleFunc("GET /debug/loadapp", memory)
	mux.Handle("/", newHandler(m))
	srv := &http.Server{
		// Every request, and so every store call, ends within 5 s.
		Handler:           http.TimeoutHandler(mux, 5*time.Second, "timeout\n"),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			errc <- srv.ServeTLS(l, certFile, keyFile)
		} else {
			errc <- srv.Serve(l)
		}
	}()
	fmt.Printf("LISTEN %s\n", l.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// grow adds the form's "bytes" random base64url characters (at most 64 KiB)
// to the session, under "ballast", and goes back to the page.
func grow(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.FormValue("bytes"))
	if err != nil || n < 1 || n > 64<<10 {
		http.Error(w, "bytes: 1 to 65536", http.StatusBadRequest)
		return
	}
	s := session.FromRequest(r)
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[b[i]&63]
	}
	s.Set("ballast", string(b))
	if err := s.Save(); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// memory answers the app's memory figures after a garbage collection.
func memory(w http.ResponseWriter, _ *http.Request) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]uint64{
		"heap_inuse": ms.HeapInuse,
		"heap_alloc": ms.HeapAlloc,
		"sys":        ms.Sys,
		"goroutines": uint64(runtime.NumGoroutine()),
	})
}
