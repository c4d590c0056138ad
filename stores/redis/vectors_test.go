package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// The store vectors (testdata/stores-lua-resty-session-4.1.5-redis.json, see
// testdata/README.md) record what the unmodified lua-resty-session 4.1.5
// wrote into Redis and read from it, step by step, with pinned session
// ids and the clock of each request. This file holds the types and helpers;
// vectors_read_test.go loads the reference's items and opens its cookies
// here, vectors_write_test.go runs the same steps here and compares what the
// store writes.

type refFile struct {
	Vectors []refVector `json:"vectors"`
}

type refVector struct {
	Name   string                     `json:"name"`
	Pin    string                     `json:"pin"`
	Config map[string]json.RawMessage `json:"config"`
	Steps  []refStep                  `json:"steps"`
}

type refStep struct {
	Cmd       string                     `json:"cmd"`
	Note      string                     `json:"note"`
	Config    map[string]json.RawMessage `json:"config"`
	Data      map[string]any             `json:"data"`
	Subject   *string                    `json:"subject"`
	OpenFirst bool                       `json:"open_first"`
	Request   struct {
		Time         int64   `json:"time"`
		CookieHeader *string `json:"cookie_header"`
	} `json:"request"`
	Result struct {
		Err      *string        `json:"err"`
		OpenErr  *string        `json:"open_err"`
		Exists   *bool          `json:"exists"`
		Data     map[string]any `json:"data"`
		Subject  *string        `json:"subject"`
		Audience *string        `json:"audience"`
		Session  struct {
			Entries []refEntry `json:"entries"`
			State   string     `json:"state"`
		} `json:"session"`
	} `json:"result"`
	SIDs []struct {
		N   int    `json:"n"`
		SID string `json:"sid"`
	} `json:"sids"`
	JarAfter map[string]string `json:"jar_after"`
	Store    struct {
		Changes []refChange `json:"changes"`
	} `json:"store"`
}

type refEntry struct {
	Audience string         `json:"audience"`
	Data     map[string]any `json:"data"`
	Subject  *string        `json:"subject"`
}

// refChange is a key a step created, changed or deleted: a record (a
// string) or a subject index (a sorted set of storage keys scored by their
// expiry).
type refChange struct {
	Key     string   `json:"key"`
	Op      string   `json:"op"`   // created, changed or deleted
	Type    string   `json:"type"` // string or zset
	Value   string   `json:"value"`
	Members []member `json:"members"`
	TTL     int64    `json:"ttl"` // seconds from the step's time, -1: none
}

// member is a member of a subject index: a storage key and its expiry.
type member struct {
	Member  string `json:"member"`
	ScoreAt int64  `json:"score_at"`
}

// loadRefVectors reads the vectors; a missing file fails the test (it is
// part of the repository).
func loadRefVectors(t *testing.T) []refVector {
	t.Helper()
	path := os.Getenv("SESSIONGO_STORE_VECTORS")
	if path == "" {
		path = filepath.Join("testdata", "stores-lua-resty-session-4.1.5-redis.json")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("store vectors: %v", err)
	}
	var f refFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("store vectors: %v", err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("store vectors: none")
	}
	return f.Vectors
}

// vectorConfig returns the configuration of a step, read by
// session.ParseConfigFunc from the reference's option names: the vector's,
// with the step's own options over it, and the store's prefix and suffix.
func vectorConfig(t *testing.T, v refVector, step refStep) (session.Config, string, string) {
	t.Helper()
	merged := maps.Clone(v.Config)
	maps.Copy(merged, step.Config)
	raw, err := json.Marshal(merged)
	if err != nil {
		t.Fatal(err)
	}
	var section struct {
		Prefix string `json:"prefix"`
		Suffix string `json:"suffix"`
	}
	cfg, err := session.ParseConfigFunc(raw, func(key string, value json.RawMessage) error {
		switch key {
		case "storage":
			return nil
		case "redis":
			return json.Unmarshal(value, &section)
		}
		return errors.New("not an option of the vectors")
	})
	if err != nil {
		t.Fatalf("vector config: %v", err)
	}
	return cfg, section.Prefix, section.Suffix
}

// encodedSubject encodes a subject as the session library does for the
// index of a single-audience session.
func encodedSubject(cfg session.Config, subject string) string {
	if cfg.HashSubject {
		sum := sha256.Sum256([]byte(subject))
		return base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	return base64.RawURLEncoding.EncodeToString([]byte(subject))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// pinnedIDs yields the vector's session ids, SHA-256("<pin>:<n>").
type pinnedIDs struct {
	pin string
	n   int
}

func (p *pinnedIDs) Read(b []byte) (int, error) {
	if len(b) != 32 {
		return 0, fmt.Errorf("pinnedIDs: read of %d bytes, want a 32-byte session id", len(b))
	}
	p.n++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", p.pin, p.n)))
	return copy(b, sum[:]), nil
}

// exchange is an adapter.Exchange over a Cookie header, recording the
// cookies the session library sets.
type exchange struct {
	cookie string
	set    []string
}

var _ adapter.Exchange = (*exchange)(nil)

func (e *exchange) Context() context.Context             { return context.Background() }
func (e *exchange) Cookies() string                      { return e.cookie }
func (e *exchange) UserAgent() string                    { return "" }
func (e *exchange) RemoteAddr() string                   { return "127.0.0.1" }
func (e *exchange) Scheme() string                       { return "http" }
func (e *exchange) SetRequestHeader(name, value string)  {}
func (e *exchange) DelRequestHeader(name string)         {}
func (e *exchange) SetResponseHeader(name, value string) {}
func (e *exchange) SetCookie(name, line string)          { e.set = adapter.ReplaceSetCookie(e.set, name, line) }

// jar applies Set-Cookie lines to a copy of jar: a cookie with an empty value
// is removed.
func applyCookies(jar map[string]string, lines []string) map[string]string {
	out := maps.Clone(jar)
	if out == nil {
		out = map[string]string{}
	}
	for _, l := range lines {
		nv, _, _ := strings.Cut(l, ";")
		name, value, _ := strings.Cut(nv, "=")
		if value == "" {
			delete(out, name)
		} else {
			out[name] = value
		}
	}
	return out
}

// cookieHeader is a jar as a Cookie header, names sorted as the vectors'.
func cookieHeader(jar map[string]string) string {
	names := slices.Sorted(maps.Keys(jar))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + jar[n]
	}
	return strings.Join(parts, "; ")
}

// jarIndex returns the step whose jar a step's Cookie header replays: the
// latest earlier jar with that header, or -1 for no cookie.
func jarIndex(t *testing.T, steps []refStep, i int) int {
	t.Helper()
	h := steps[i].Request.CookieHeader
	if h == nil {
		return -1
	}
	for j := i - 1; j >= 0; j-- {
		if cookieHeader(steps[j].JarAfter) == *h {
			return j
		}
	}
	t.Fatalf("step %d: no earlier jar sends %q", i, *h)
	return -1
}

// openAs opens the session of a Cookie header with a Manager of the step's
// configuration and audience.
func openAs(t *testing.T, v refVector, step refStep, st session.Store, audience, cookies string) (*session.Session, error) {
	t.Helper()
	cfg, _, _ := vectorConfig(t, v, step)
	if audience != "" {
		cfg.Audience = audience
	}
	cfg.Store = st
	at := time.Unix(step.Request.Time, 0)
	cfg.Clock = func() time.Time { return at }
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession(&exchange{cookie: cookies})
	return s, s.Open()
}

// wantOpen checks that a session opened with the data and subject of the
// reference's entry.
func wantOpen(t *testing.T, what string, s *session.Session, err error, e refEntry) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v, want the session of audience %s", what, err, e.Audience)
		return
	}
	got, _ := json.Marshal(s.Data())
	want, _ := json.Marshal(e.Data)
	if string(got) != string(want) || s.Audience() != e.Audience || e.Subject == nil || s.Subject() != *e.Subject {
		t.Errorf("%s: audience %q, subject %q, data %s; want %q, %v, %s", what, s.Audience(), s.Subject(), got, e.Audience, e.Subject, want)
	}
}

// wantNotFound checks an error against the reference's "unable to load
// session" for a missing record.
func wantLoadError(t *testing.T, what string, err error, want string) {
	t.Helper()
	var e *session.Error
	if !errors.Is(err, session.ErrNotFound) || !errors.As(err, &e) || e.Msg != want {
		t.Errorf("%s: %v, want ErrNotFound with the reference's %q", what, err, want)
	}
}

// item is what Redis holds under a key: a string or a sorted set, and its
// TTL in whole seconds (-1: none) and expiry on the test's clock.
type item struct {
	typ     string
	value   string
	members map[string]int64 // zset member → score
	ttl     int64
	exp     time.Time
}

// server reads and writes the keys of a test prefix directly.
type server struct {
	t *testing.T
	c redis.UniversalClient
}

// get reads key.
func (sv *server) get(key string) (item, bool) {
	ctx := context.Background()
	typ, err := sv.c.Type(ctx, key).Result()
	if err != nil {
		sv.t.Fatal(err)
	}
	it := item{typ: typ}
	switch typ {
	case "none":
		return item{}, false
	case "string":
		it.value, err = sv.c.Get(ctx, key).Result()
	case "zset":
		var zs []redis.Z
		zs, err = sv.c.ZRangeWithScores(ctx, key, 0, -1).Result()
		it.members = map[string]int64{}
		for _, z := range zs {
			it.members[z.Member.(string)] = int64(z.Score)
		}
	case "hash": // a group's info (groupinfo.go)
		var h map[string]string
		h, err = sv.c.HGetAll(ctx, key).Result()
		it.value = fmt.Sprint(h)
	default:
		sv.t.Fatalf("key %s of type %s", key, typ)
	}
	if err != nil {
		sv.t.Fatal(err)
	}
	pttl, err := sv.c.PTTL(ctx, key).Result()
	if err != nil {
		sv.t.Fatal(err)
	}
	it.ttl = -1
	if pttl >= 0 {
		it.ttl = int64((pttl + 500*time.Millisecond) / time.Second)
		it.exp = time.Now().Add(pttl)
	}
	return it, true
}

// put writes a key as the reference left it.
func (sv *server) put(c refChange, ttl int64) {
	ctx := context.Background()
	_, err := sv.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, c.Key)
		switch c.Type {
		case "string":
			p.Set(ctx, c.Key, c.Value, 0)
		case "zset":
			for _, m := range c.Members {
				p.ZAdd(ctx, c.Key, redis.Z{Score: float64(m.ScoreAt), Member: m.Member})
			}
		default:
			sv.t.Fatalf("key %s of type %q", c.Key, c.Type)
		}
		if ttl >= 0 {
			p.Expire(ctx, c.Key, time.Duration(ttl)*time.Second)
		}
		return nil
	})
	if err != nil {
		sv.t.Fatal(err)
	}
}

func (sv *server) del(key string) {
	if err := sv.c.Del(context.Background(), key).Err(); err != nil {
		sv.t.Fatal(err)
	}
}

// keys returns every key of the test prefix: records and subject indexes
// ("prefix:..."), and the store's group keys ("{prefix:...}...").
func (sv *server) keys(prefix string) []string {
	return slices.Sorted(slices.Values(append(scanKeys(sv.c, prefix+":*"), scanKeys(sv.c, "{"+prefix+":*")...)))
}

// advance makes the keys of prefix d seconds older, as if the server's
// clock had moved on with the session library's between two steps: their
// TTLs shrink by d, and those it ends are deleted.
func (sv *server) advance(prefix string, d int64) {
	if d <= 0 {
		return
	}
	ctx := context.Background()
	for _, k := range sv.keys(prefix) {
		pttl, err := sv.c.PTTL(ctx, k).Result()
		if err != nil {
			sv.t.Fatal(err)
		}
		switch left := pttl - time.Duration(d)*time.Second; {
		case pttl < 0:
		case left <= 0:
			sv.del(k)
		default:
			if err := sv.c.PExpire(ctx, k, left).Err(); err != nil {
				sv.t.Fatal(err)
			}
		}
	}
}
