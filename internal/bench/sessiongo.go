package bench

import (
	"context"
	"database/sql"
	"net/http"
	"sync"

	"github.com/bradfitz/gomemcache/memcache"
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver for database/sql
	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
	redisstore "github.com/sessiongo/session/stores/redis"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// sessiongoHandlers returns the setup and op handlers of work w on m,
// behind m's net/http middleware.
func sessiongoHandlers(m *session.Manager, w Work) (setup, op http.Handler) {
	mw := m.Middleware()
	data := w.data()
	setup = mw(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		for k, v := range data {
			s.Set(k, v)
		}
		if err := s.Save(); err != nil {
			failed(rw, err)
		}
	}))
	var h http.HandlerFunc
	switch w {
	case New:
		h = func(rw http.ResponseWriter, r *http.Request) {
			s := session.FromRequest(r)
			s.Set("user", "alice")
			s.Set("role", "admin")
			s.Set("n", 42.0)
			if err := s.Save(); err != nil {
				failed(rw, err)
			}
		}
	case Read, LargeRead:
		h = func(rw http.ResponseWriter, r *http.Request) {
			if s := session.FromRequest(r); !s.Exists() || s.Get("user") != "alice" {
				failed(rw, errWrongValue)
			}
		}
	default:
		h = func(rw http.ResponseWriter, r *http.Request) {
			s := session.FromRequest(r)
			n, ok := s.Get("n").(float64)
			if !ok {
				failed(rw, errWrongValue)
				return
			}
			s.Set("n", n+1)
			if err := s.Save(); err != nil {
				failed(rw, err)
			}
		}
	}
	return setup, mw(h)
}

func sessiongoCell(cfg session.Config, w Work) (func() error, func(), error) {
	cfg.Secret = "benchmark-secret"
	m, err := session.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	setup, op := sessiongoHandlers(m, w)
	f, err := cellOp(w, setup, op)
	return f, nil, err
}

func sessiongoCookie(_ *env, w Work) (func() error, func(), error) {
	return sessiongoCell(session.Config{}, w)
}

func sessiongoMemory(_ *env, w Work) (func() error, func(), error) {
	st, err := session.NewMemoryStore()
	if err != nil {
		return nil, nil, err
	}
	return sessiongoCell(session.Config{Store: st}, w)
}

// redisClients are the run's Redis clients: go-redis for sessiongo, a
// redigo pool for scs.
type redisClients struct {
	goredis *redis.Client
	once    sync.Once
}

func (e *env) goRedis() *redis.Client {
	if e.redis == nil {
		e.redis = &redisClients{}
	}
	e.redis.once.Do(func() {
		e.redis.goredis = redis.NewClient(&redis.Options{Addr: e.servers.RedisAddr})
		c := e.redis.goredis
		prefix := e.prefix
		e.onClose(func() {
			deleteRedisKeys(c, "*"+prefix+"*")
			c.Close()
		})
	})
	return e.redis.goredis
}

// deleteRedisKeys deletes the keys matching pattern.
func deleteRedisKeys(c *redis.Client, pattern string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			c.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		c.Unlink(ctx, keys...)
	}
}

func sessiongoRedis(e *env, w Work) (func() error, func(), error) {
	st, err := redisstore.New(e.goRedis(), redisstore.WithPrefix(e.prefix))
	if err != nil {
		return nil, nil, err
	}
	return sessiongoCell(session.Config{Store: st}, w)
}

func sessiongoMemcached(e *env, w Work) (func() error, func(), error) {
	c := memcache.New(e.servers.MemcachedAddr)
	st, err := memcachedstore.New(c, memcachedstore.WithPrefix(e.prefix))
	if err != nil {
		return nil, nil, err
	}
	op, _, err := sessiongoCell(session.Config{Store: st}, w)
	return op, func() { c.Close() }, err
}

// postgresDB is the run's PostgreSQL database, with its tables.
type postgresDB struct {
	db   *sql.DB
	opts []sqlstore.Option
	err  error
	once sync.Once
}

func (e *env) postgresDB() (*postgresDB, error) {
	if e.postgres == nil {
		e.postgres = &postgresDB{}
	}
	p := e.postgres
	p.once.Do(func() {
		p.db, p.err = sql.Open("pgx", e.servers.PostgresDSN)
		if p.err != nil {
			return
		}
		table := "bench_" + e.prefix[len("sessiongo-bench-"):]
		p.opts = []sqlstore.Option{sqlstore.WithTable(table), sqlstore.WithMetaTable(table + "_meta")}
		ctx := context.Background()
		if p.err = sqlstore.Migrate(ctx, p.db, sqlstore.Postgres, p.opts...); p.err != nil {
			p.db.Close()
			return
		}
		db := p.db
		e.onClose(func() {
			db.ExecContext(ctx, `DROP TABLE IF EXISTS "`+table+`", "`+table+`_meta"`)
			db.Close()
		})
	})
	return p, p.err
}

func sessiongoPostgres(e *env, w Work) (func() error, func(), error) {
	p, err := e.postgresDB()
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlstore.New(p.db, sqlstore.Postgres, p.opts...)
	if err != nil {
		return nil, nil, err
	}
	return sessiongoCell(session.Config{Store: st}, w)
}
