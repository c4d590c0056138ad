package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Servers names the storage servers the table uses; an empty address skips
// the libraries that need it.
type Servers struct {
	RedisAddr     string // host:port of Redis
	MemcachedAddr string // host:port of memcached
	PostgresDSN   string // a PostgreSQL URL; the table creates and drops its own tables
}

// ServersFromEnv returns the servers named by the environment variables the
// project's tests use: SESSIONGO_REDIS_ADDR, SESSIONGO_MEMCACHED_ADDRS (the
// first address) and SESSIONGO_POSTGRES_DSN.
func ServersFromEnv() Servers {
	mc, _, _ := strings.Cut(os.Getenv("SESSIONGO_MEMCACHED_ADDRS"), ",")
	return Servers{
		RedisAddr:     os.Getenv("SESSIONGO_REDIS_ADDR"),
		MemcachedAddr: strings.TrimSpace(mc),
		PostgresDSN:   os.Getenv("SESSIONGO_POSTGRES_DSN"),
	}
}

// A Library is one session library on one storage: a column of the table.
type Library struct {
	// Name is the column's title, such as "sessiongo cookie".
	Name string
	// needs names the server the library needs, "" for none.
	needs string
	// cell returns the op of one request of work w, and a cleanup.
	cell func(e *env, w Work) (op func() error, cleanup func(), err error)
}

// Libraries lists the table's columns, in order.
var Libraries = []Library{
	{Name: "sessiongo cookie", cell: sessiongoCookie},
	{Name: "sessiongo memory", cell: sessiongoMemory},
	{Name: "sessiongo Redis", needs: "Redis", cell: sessiongoRedis},
	{Name: "sessiongo memcached", needs: "memcached", cell: sessiongoMemcached},
	{Name: "sessiongo PostgreSQL", needs: "PostgreSQL", cell: sessiongoPostgres},
	{Name: "scs memory", cell: scsMemory},
	{Name: "scs Redis", needs: "Redis", cell: scsRedis},
	{Name: "fiber v2 memory", cell: fiberMemory},
	{Name: "gorilla cookie", cell: gorillaCookie},
}

// env holds the servers' clients that the cells of one run share, and
// what to clean up once the run is over.
type env struct {
	servers  Servers
	prefix   string // of every key and table of the run
	closers  []func()
	redis    *redisClients
	postgres *postgresDB
}

func newEnv(s Servers) *env {
	return &env{servers: s, prefix: "sessiongo-bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// available says why a library cannot run here, or "" when it can.
func (e *env) available(l Library) string {
	switch l.needs {
	case "Redis":
		if e.servers.RedisAddr == "" {
			return "no Redis (SESSIONGO_REDIS_ADDR)"
		}
	case "memcached":
		if e.servers.MemcachedAddr == "" {
			return "no memcached (SESSIONGO_MEMCACHED_ADDRS)"
		}
	case "PostgreSQL":
		if e.servers.PostgresDSN == "" {
			return "no PostgreSQL (SESSIONGO_POSTGRES_DSN)"
		}
	}
	return ""
}

func (e *env) onClose(f func()) { e.closers = append(e.closers, f) }

// close runs the cleanups, last first.
func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// cell returns the op of library l doing work w.
func (e *env) cell(l Library, w Work) (func() error, func(), error) {
	op, cleanup, err := l.cell(e, w)
	if err != nil {
		return nil, nil, fmt.Errorf("%s, %s: %w", l.Name, w, err)
	}
	if cleanup == nil {
		cleanup = func() {}
	}
	return op, cleanup, nil
}
