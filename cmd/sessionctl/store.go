package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	session "github.com/sessiongo/session/core"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
	redisstore "github.com/sessiongo/session/stores/redis"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// A store URL names a server-side store and how to reach it. Query
// parameters that sessionctl reads itself are removed before the rest goes
// to the driver:
//
//	redis://[user:pass@]host:port[/db][?prefix=P&suffix=S&<go-redis options>]
//	rediss://...                                  (TLS)
//	redis-sentinel://[user:pass@]sentinel:port[/db]?master_name=M[&addr=sentinel2:port...][&prefix=P]
//	redis-cluster://[user:pass@]node:port[?addr=node2:port...][&prefix=P]
//	memcached://host:port[,host2:port...][?prefix=P&suffix=S&timeout=2s]
//	postgres://user@host:port/db?sslmode=disable[&table=T&meta_table=M&migrate=true]
//	mysql://user:pass@host:port/db[?table=T&meta_table=M&migrate=true]
//	sqlite:///absolute/path.db or sqlite://relative.db[?table=T&meta_table=M&migrate=true]
//	file:///directory[?prefix=P&suffix=S]          (core's file store)

// storeConn is an open store.
type storeConn struct {
	store    session.Store
	redacted string // the URL without its password
	close    func()
}

// storeParams takes sessionctl's own parameters out of q.
type storeParams struct {
	prefix, suffix   string
	table, metaTable string
	migrate          bool
}

func takeParams(q url.Values) (storeParams, error) {
	var p storeParams
	take := func(names ...string) string {
		v := ""
		for _, n := range names {
			if q.Has(n) {
				v = q.Get(n)
				q.Del(n)
			}
		}
		return v
	}
	p.prefix = take("prefix")
	p.suffix = take("suffix")
	p.table = take("table", "table_name")
	p.metaTable = take("meta_table", "table_name_meta")
	if m := take("migrate"); m != "" {
		b, err := strconv.ParseBool(m)
		if err != nil {
			return p, fmt.Errorf("migrate=%q: want true or false", m)
		}
		p.migrate = b
	}
	return p, nil
}

// openStore opens the store of a URL. A malformed URL is a usage error;
// nothing is sent to the server until the store is used, except for
// migrate=true.
func openStore(ctx context.Context, raw string) (*storeConn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("--store: %v", err)
	}
	q := u.Query()
	p, err := takeParams(q)
	if err != nil {
		return nil, usagef("--store: %v", err)
	}
	u.RawQuery = q.Encode()
	c := &storeConn{redacted: redact(raw)}
	switch u.Scheme {
	case "redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster":
		if p.table != "" || p.metaTable != "" || p.migrate {
			return nil, usagef("--store: table, meta_table and migrate are for SQL stores")
		}
		client, err := redisClient(u)
		if err != nil {
			return nil, usagef("--store: %v", err)
		}
		st, err := redisstore.New(client, redisstore.WithPrefix(p.prefix), redisstore.WithSuffix(p.suffix))
		if err != nil {
			client.Close()
			return nil, usagef("--store: %v", err)
		}
		c.store, c.close = st, func() { client.Close() }
	case "memcached", "memcache":
		if p.table != "" || p.metaTable != "" || p.migrate {
			return nil, usagef("--store: table, meta_table and migrate are for SQL stores")
		}
		client, err := memcachedClient(u)
		if err != nil {
			return nil, usagef("--store: %v", err)
		}
		st, err := memcachedstore.New(client, memcachedstore.WithPrefix(p.prefix), memcachedstore.WithSuffix(p.suffix))
		if err != nil {
			client.Close()
			return nil, usagef("--store: %v", err)
		}
		c.store, c.close = st, func() { client.Close() }
	case "postgres", "postgresql", "mysql", "mariadb", "sqlite", "sqlite3":
		if p.prefix != "" || p.suffix != "" {
			return nil, usagef("--store: prefix and suffix are for Redis and memcached; SQL stores use table and meta_table")
		}
		if err := openSQL(ctx, c, u, p); err != nil {
			return nil, err
		}
	case "file":
		if p.table != "" || p.metaTable != "" || p.migrate {
			return nil, usagef("--store: table, meta_table and migrate are for SQL stores")
		}
		if len(q) > 0 {
			return nil, usagef("--store: unknown file parameters: %s (file:// takes prefix and suffix)", q.Encode())
		}
		dir := u.Path
		if u.Host != "" && u.Host != "localhost" {
			dir = filepath.Join(u.Host, u.Path) // file://relative/dir
		}
		var opts []session.StoreOption
		if p.prefix != "" {
			opts = append(opts, session.WithFilePrefix(p.prefix))
		}
		if p.suffix != "" {
			opts = append(opts, session.WithFileSuffix(p.suffix))
		}
		fs, err := session.NewFileStore(dir, opts...)
		if err != nil {
			return nil, usagef("--store: %v", err)
		}
		c.store, c.close = fs, fs.Stop
	case "":
		return nil, usagef("--store %q: not a URL (want redis://, memcached://, postgres://, mysql://, sqlite://, ...)", raw)
	default:
		return nil, usagef("--store: unknown scheme %q (want redis, rediss, redis-sentinel, redis-cluster, memcached, postgres, mysql, sqlite or file)", u.Scheme)
	}
	return c, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// quietLogger drops go-redis's internal log lines (sentinel and cluster
// chatter); failures reach the user as errors.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// go-redis keeps its logger in a global that is not safe to set while
// clients run, so it is set before anything else: at package init, which
// also covers the tests that run commands in-process beside clients of
// their own.
func init() { redis.SetLogger(quietLogger{}) }

// redisClient makes the go-redis client of a redis*:// URL.
func redisClient(u *url.URL) (redis.UniversalClient, error) {
	tls := strings.HasPrefix(u.Scheme, "rediss")
	v := *u
	v.Scheme = "redis"
	if tls {
		v.Scheme = "rediss"
	}
	switch {
	case strings.HasSuffix(u.Scheme, "-sentinel"):
		q := v.Query()
		if q.Has("master") {
			q.Set("master_name", q.Get("master"))
			q.Del("master")
			v.RawQuery = q.Encode()
		}
		o, err := redis.ParseFailoverURL(v.String())
		if err != nil {
			return nil, err
		}
		if o.MasterName == "" {
			return nil, fmt.Errorf("%s:// needs the master's name: ?master_name=NAME", u.Scheme)
		}
		o.ContextTimeoutEnabled = true
		return redis.NewFailoverClient(o), nil
	case strings.HasSuffix(u.Scheme, "-cluster"):
		o, err := redis.ParseClusterURL(v.String())
		if err != nil {
			return nil, err
		}
		o.ContextTimeoutEnabled = true
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(v.String())
	if err != nil {
		return nil, err
	}
	o.ContextTimeoutEnabled = true
	return redis.NewClient(o), nil
}

// memcachedClient makes the client of a memcached:// URL: the host part
// lists servers separated by commas, and addr= parameters add more.
func memcachedClient(u *url.URL) (*memcache.Client, error) {
	q := u.Query()
	var servers []string
	for _, list := range append([]string{u.Host}, q["addr"]...) {
		for _, s := range strings.Split(list, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(s); err != nil {
				s = net.JoinHostPort(s, "11211")
			}
			servers = append(servers, s)
		}
	}
	q.Del("addr")
	if len(servers) == 0 {
		servers = []string{"127.0.0.1:11211"}
	}
	client := memcache.New(servers...)
	client.Timeout = 2 * time.Second
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("timeout=%q: want a positive duration", t)
		}
		client.Timeout = d
	}
	q.Del("timeout")
	if len(q) > 0 {
		return nil, fmt.Errorf("unknown memcached parameters: %s", q.Encode())
	}
	return client, nil
}

// openSQL opens a database/sql store.
func openSQL(ctx context.Context, c *storeConn, u *url.URL, p storeParams) error {
	var driver, dsn string
	var dialect sqlstore.Dialect
	switch u.Scheme {
	case "postgres", "postgresql":
		driver, dialect, dsn = "pgx", sqlstore.Postgres, u.String()
	case "mysql", "mariadb":
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net = "tcp"
		host := u.Host
		if host == "" {
			host = "127.0.0.1"
		}
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(host, "3306")
		}
		cfg.Addr = host
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		if cfg.DBName == "" {
			return usagef("--store: %s:// needs a database name: %s://user@host:3306/DATABASE", u.Scheme, u.Scheme)
		}
		base := cfg.FormatDSN()
		if u.RawQuery != "" {
			sep := "?"
			if strings.Contains(base, "?") {
				sep = "&"
			}
			base += sep + u.RawQuery
		}
		if _, err := mysql.ParseDSN(base); err != nil {
			return usagef("--store: %v", err)
		}
		driver, dialect, dsn = "mysql", sqlstore.MySQL, base
	case "sqlite", "sqlite3":
		path := u.Host + u.Path
		if u.Opaque != "" {
			path = u.Opaque // sqlite:relative.db
		}
		if path == "" {
			return usagef("--store: sqlite:// needs a file: sqlite:///path/to/sessions.db")
		}
		q := u.Query()
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "busy_timeout(10000)")
		driver, dialect, dsn = "sqlite", sqlstore.SQLite, "file:"+path+"?"+q.Encode()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return usagef("--store: %v", err)
	}
	var opts []sqlstore.Option
	if p.table != "" {
		opts = append(opts, sqlstore.WithTable(p.table))
	}
	if p.metaTable != "" {
		opts = append(opts, sqlstore.WithMetaTable(p.metaTable))
	}
	// sessionctl does exactly what it is asked: no expired-row cleanup on
	// write.
	opts = append(opts, sqlstore.WithCleanupProbability(0))
	if p.migrate {
		if err := sqlstore.Migrate(ctx, db, dialect, opts...); err != nil {
			db.Close()
			return fmt.Errorf("migrate %s: %w", c.redacted, err)
		}
	}
	store, err := sqlstore.New(db, dialect, opts...)
	if err != nil {
		db.Close()
		return usagef("--store: %v", err)
	}
	c.store = store
	c.close = func() { store.Stop(); db.Close() }
	return nil
}

// storageURL builds a store URL from the reference's "storage" option and
// its configuration section ("redis": {...}, "postgres": {...}, ...).
func storageURL(storage string, section map[string]any) (string, error) {
	str := func(key, def string) string {
		if v, ok := section[key]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return def
	}
	has := func(key string) bool { v, ok := section[key]; return ok && v != nil }
	bool_ := func(key string) bool { b, _ := section[key].(bool); return b }
	hostPort := func(host, port string) string { return net.JoinHostPort(host, port) }
	user := func(def string) *url.Userinfo {
		name, pass := str("username", def), str("password", "")
		switch {
		case pass != "":
			return url.UserPassword(name, pass)
		case name != "":
			return url.User(name)
		}
		return nil
	}
	q := url.Values{}
	for _, k := range []string{"prefix", "suffix"} {
		if has(k) {
			q.Set(k, str(k, ""))
		}
	}
	u := &url.URL{}
	switch storage {
	case "redis":
		u.Scheme = "redis"
		if bool_("ssl") {
			u.Scheme = "rediss"
		}
		nodes := func(key, hostKey string) ([]string, error) {
			list, ok := section[key].([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("%s: want an array of {%s, port}", key, hostKey)
			}
			var out []string
			for _, n := range list {
				m, ok := n.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: want an array of {%s, port}", key, hostKey)
				}
				h, _ := m[hostKey].(string)
				if h == "" {
					h = "127.0.0.1"
				}
				port := "6379"
				if p, ok := m["port"]; ok && p != nil {
					port = fmt.Sprint(p)
				}
				out = append(out, hostPort(h, port))
			}
			return out, nil
		}
		switch {
		case has("nodes"):
			addrs, err := nodes("nodes", "ip")
			if err != nil {
				return "", err
			}
			u.Scheme += "-cluster"
			u.Host = addrs[0]
			for _, a := range addrs[1:] {
				q.Add("addr", a)
			}
			u.User = user("")
		case has("sentinels"):
			addrs, err := nodes("sentinels", "host")
			if err != nil {
				return "", err
			}
			u.Scheme += "-sentinel"
			u.Host = addrs[0]
			for _, a := range addrs[1:] {
				q.Add("addr", a)
			}
			q.Set("master_name", str("master", ""))
			if has("password") {
				q.Set("password", str("password", ""))
			}
			if has("username") {
				q.Set("username", str("username", ""))
			}
			if has("sentinel_username") || has("sentinel_password") {
				u.User = url.UserPassword(str("sentinel_username", ""), str("sentinel_password", ""))
			}
			if has("database") {
				u.Path = "/" + str("database", "0")
			}
		default:
			u.Host = hostPort(str("host", "127.0.0.1"), str("port", "6379"))
			u.User = user("")
			if has("database") {
				u.Path = "/" + str("database", "0")
			}
		}
	case "memcached", "memcache":
		u.Scheme = "memcached"
		u.Host = hostPort(str("host", "127.0.0.1"), str("port", "11211"))
	case "postgres", "postgresql":
		u.Scheme = "postgres"
		u.Host = hostPort(str("host", "127.0.0.1"), str("port", "5432"))
		u.User = user("postgres")
		u.Path = "/" + str("database", "")
		if bool_("ssl") {
			q.Set("sslmode", "require")
		} else {
			q.Set("sslmode", "disable")
		}
		q.Del("prefix")
		q.Del("suffix")
		setTables(q, str)
	case "mysql", "mariadb":
		u.Scheme = "mysql"
		u.Host = hostPort(str("host", "127.0.0.1"), str("port", "3306"))
		u.User = user("")
		u.Path = "/" + str("database", "")
		q.Del("prefix")
		q.Del("suffix")
		setTables(q, str)
	case "file":
		dir := str("path", "")
		if dir == "" {
			return "", fmt.Errorf("path: want the directory of the session files")
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		return (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String(), nil
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func setTables(q url.Values, str func(key, def string) string) {
	if t := str("table_name", ""); t != "" {
		q.Set("table", t)
	}
	if t := str("table_name_meta", ""); t != "" {
		q.Set("meta_table", t)
	}
}
