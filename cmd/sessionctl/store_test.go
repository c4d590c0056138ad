package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	session "github.com/sessiongo/session/core"
)

// The servers of the store tests, from the same variables as the store
// modules' tests (.ci/services.env sets them in CI).
func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// unavailable skips the test, or fails it when CI requires the services.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("SESSIONGO_REQUIRE_SERVICES") == "1" {
		t.Fatalf(format+" (SESSIONGO_REQUIRE_SERVICES=1)", args...)
	}
	t.Skipf(format+"; start the server or set its SESSIONGO_* variable", args...)
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Timeouts of the store tests, for a machine that may be busy: the
// servers' clients wait up to 30 s for each call (go-redis's and
// sessionctl's memcached defaults are 2 to 5 s), and each command up to a
// minute for its store operations (its --timeout, 10 s by default).
var (
	clientTimeouts = url.Values{"dial_timeout": {"30s"}, "read_timeout": {"30s"}, "write_timeout": {"30s"}}
	commandTimeout = []string{"--timeout", "1m"}
)

// backend prepares a store of its own on one server and returns its URL.
type backend struct {
	name  string
	setup func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "sessions.db") + "?migrate=true"
	}},
	{"redis", func(t *testing.T) string {
		addr := getenv("SESSIONGO_REDIS_ADDR", "127.0.0.1:6379")
		c := redis.NewClient(&redis.Options{Addr: addr})
		prefix := redisPrefix(t, c, "redis "+addr)
		return "redis://" + addr + "/0?prefix=" + prefix + "&" + clientTimeouts.Encode()
	}},
	{"redis-sentinel", func(t *testing.T) string {
		addrs := strings.Split(getenv("SESSIONGO_REDIS_SENTINEL_ADDRS", "127.0.0.1:26390,127.0.0.1:26391,127.0.0.1:26392"), ",")
		master := getenv("SESSIONGO_REDIS_SENTINEL_MASTER", "sessiongo")
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: master, SentinelAddrs: addrs})
		prefix := redisPrefix(t, c, "redis sentinel "+strings.Join(addrs, ","))
		q := url.Values{"master_name": {master}, "prefix": {prefix}, "addr": addrs[1:]}
		maps.Copy(q, clientTimeouts)
		return "redis-sentinel://" + addrs[0] + "?" + q.Encode()
	}},
	{"redis-cluster", func(t *testing.T) string {
		addrs := strings.Split(getenv("SESSIONGO_REDIS_CLUSTER_ADDRS", "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"), ",")
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		prefix := redisPrefix(t, c, "redis cluster "+strings.Join(addrs, ","))
		q := url.Values{"prefix": {prefix}, "addr": addrs[1:]}
		maps.Copy(q, clientTimeouts)
		return "redis-cluster://" + addrs[0] + "?" + q.Encode()
	}},
	{"memcached", func(t *testing.T) string {
		addrs := getenv("SESSIONGO_MEMCACHED_ADDRS", "127.0.0.1:11311")
		c := memcache.New(strings.Split(addrs, ",")...)
		defer c.Close()
		if err := c.Ping(); err != nil {
			unavailable(t, "memcached %s unreachable: %v", addrs, err)
		}
		// memcached cannot list keys: the test's simply expire.
		return "memcached://" + addrs + "?timeout=30s&prefix=" + randomName("sessionctl-test-")
	}},
	{"postgres", func(t *testing.T) string {
		dsn := getenv("SESSIONGO_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/sessiongo_test?sslmode=disable")
		table := randomName("sessionctl_")
		dropTables(t, "pgx", dsn, table)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("SESSIONGO_POSTGRES_DSN: %v", err)
		}
		q := u.Query()
		q.Set("table", table)
		q.Set("migrate", "true")
		u.RawQuery = q.Encode()
		return u.String()
	}},
	{"mysql", func(t *testing.T) string {
		dsn := getenv("SESSIONGO_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/sessiongo_test?parseTime=true")
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("SESSIONGO_MYSQL_DSN: %v", err)
		}
		table := randomName("sessionctl_")
		dropTables(t, "mysql", dsn, table)
		u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName, RawQuery: "migrate=true&table=" + table}
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
		if cfg.Passwd == "" {
			u.User = url.User(cfg.User)
		}
		return u.String()
	}},
}

// redisPrefix checks that a Redis deployment answers and returns a key
// prefix of the test's own, whose keys are deleted when the test ends.
func redisPrefix(t *testing.T, c redis.UniversalClient, what string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		unavailable(t, "%s unreachable: %v", what, err)
	}
	prefix := randomName("sessionctl-test-")
	t.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		del := func(ctx context.Context, n redis.UniversalClient) error {
			iter := n.Scan(ctx, 0, prefix+":*", 1000).Iterator()
			for iter.Next(ctx) {
				n.Del(ctx, iter.Val())
			}
			return iter.Err()
		}
		if cc, ok := c.(*redis.ClusterClient); ok {
			cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return del(ctx, n) })
			return
		}
		del(ctx, c)
	})
	return prefix
}

// dropTables checks that a database answers and drops the test's tables
// when the test ends.
func dropTables(t *testing.T, driver, dsn, table string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("sql.Open(%s): %v", driver, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		unavailable(t, "%s at %s unreachable: %v", driver, dsn, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		for _, tb := range []string{table + "_meta", table, table + "_revoked"} {
			if _, err := db.Exec("DROP TABLE IF EXISTS " + tb); err != nil {
				t.Logf("drop %s: %v", tb, err)
			}
		}
	})
}

// TestStores runs a session's life through the binary on every store:
// new saves it (indexed by subject), open reads it back without writing,
// sessions list shows it, sessions revoke deletes it, and its cookie no
// longer opens.
func TestStores(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			storeLifecycle(t, b.setup(t))
		})
	}
}

func listKeys(t *testing.T, store, subject string) []string {
	t.Helper()
	out := mustRun(t, "", append([]string{"sessions", "list", "--store", store, "--audience", "app", "--subject", subject}, commandTimeout...)...)
	var entries []sessionEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("sessions list printed %q: %v", out, err)
	}
	keys := []string{}
	now := time.Now().Unix()
	for _, e := range entries {
		if e.Expires <= now || e.ExpiresAt == "" {
			t.Errorf("entry %+v: not live", e)
		}
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	return keys
}

func revoke(t *testing.T, store, subject string, extra ...string) int {
	t.Helper()
	out := mustRun(t, "", append(append([]string{"sessions", "revoke", "--store", store, "--audience", "app", "--subject", subject}, commandTimeout...), extra...)...)
	var r map[string]int
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("sessions revoke printed %q: %v", out, err)
	}
	return r["revoked"]
}

func sorted(s ...string) []string { sort.Strings(s); return s }

func storeLifecycle(t *testing.T, store string) {
	common := append([]string{"--secret", "s", "--store", store, "--store-metadata", "--audience", "app"}, commandTimeout...)
	// The stores expire records on the real clock: no --now here.
	newAt := func(args ...string) newReport {
		t.Helper()
		out := mustRun(t, "", append(append([]string{"new", "--json"}, common...), args...)...)
		var r newReport
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Store == nil {
			t.Fatalf("new --json printed %q: %v", out, err)
		}
		return r
	}
	a1 := newAt("--subject", "alice", "--data", `{"device":"laptop"}`)
	a2 := newAt("--subject", "alice", "--data", `{"device":"phone"}`, "--remember", "--remember-safety", "None")
	b1 := newAt("--subject", "bob", "--data", `{"device":"tv"}`)
	if a1.Store.Name != "session" || a1.Store.Key != a1.ID || strings.Contains(a1.Store.URL, "password") {
		t.Errorf("new's store report %+v", a1.Store)
	}
	if len(a2.SetCookie) != 2 {
		t.Fatalf("remember session: %d cookies", len(a2.SetCookie))
	}
	rememberKey := strings.TrimPrefix(a2.Cookie[strings.Index(a2.Cookie, "remember="):], "remember=")
	hd, err := session.ParseHeader(rememberKey)
	if err != nil {
		t.Fatal(err)
	}
	rh := hd.SessionID // the remember cookie's storage key

	// open reads the record from the store.
	openArgs := append([]string{"--secret", "s", "--store", store, "--audience", "app"}, commandTimeout...)
	r := openReport(t, a1.Cookie, openArgs...)
	if !r.Exists || r.Data["device"] != "laptop" || r.Subject == nil || *r.Subject != "alice" {
		t.Fatalf("open stored session: exists %v data %v error %+v", r.Exists, r.Data, r.Error)
	}
	if r.Store == nil || r.Store.Key != a1.Store.Key || r.Store.WritesSkipped != 0 || strings.Join(r.Header.FlagNames, ",") != "storage" {
		t.Errorf("open's store report %+v, header %+v", r.Store, r.Header)
	}
	// A restore from the remember cookie alone is shown, not stored.
	r = openReport(t, "remember="+rememberKey, append(openArgs, "--remember", "--remember-safety", "None")...)
	if !r.Exists || !r.Restored || r.Data["device"] != "phone" || r.Store.WritesSkipped == 0 || r.Store.Name != "remember" {
		t.Fatalf("restore: exists %v restored %v data %v store %+v error %+v", r.Exists, r.Restored, r.Data, r.Store, r.Error)
	}

	// The index lists alice's session records: two session cookies and
	// one remember cookie (nothing from the restore above).
	want := sorted(a1.Store.Key, a2.Store.Key, rh)
	if got := listKeys(t, store, "alice"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("alice's sessions %q, want %q", got, want)
	}
	if got := listKeys(t, store, "bob"); len(got) != 1 || got[0] != b1.Store.Key {
		t.Fatalf("bob's sessions %q, want [%s]", got, b1.Store.Key)
	}
	if got := listKeys(t, store, "carol"); len(got) != 0 {
		t.Fatalf("carol's sessions %q, want none", got)
	}

	// Revoke one, then the rest.
	if n := revoke(t, store, "alice", "--key", a1.Store.Key); n != 1 {
		t.Errorf("revoke --key: %d", n)
	}
	if got := listKeys(t, store, "alice"); strings.Join(got, ",") != strings.Join(sorted(a2.Store.Key, rh), ",") {
		t.Errorf("after revoking one: %q", got)
	}
	if n := revoke(t, store, "alice"); n != 2 {
		t.Errorf("revoke: %d, want 2", n)
	}
	if got := listKeys(t, store, "alice"); len(got) != 0 {
		t.Errorf("after revoke: %q", got)
	}
	for _, c := range []newReport{a1, a2} {
		r := openReport(t, c.Cookie, append(openArgs, "--remember", "--remember-safety", "None")...)
		if r.Exists || r.Error == nil || r.Error.Class != "not_found" || r.Error.Message != "unable to load session" {
			t.Errorf("revoked session %s: exists %v error %+v", c.ID, r.Exists, r.Error)
		}
	}
	if r := openReport(t, b1.Cookie, openArgs...); !r.Exists || r.Data["device"] != "tv" {
		t.Errorf("bob's session after alice's revoke: exists %v error %+v", r.Exists, r.Error)
	}
}
