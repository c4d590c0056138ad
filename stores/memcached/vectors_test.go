package memcachedstore_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// The store vectors (testdata/stores-lua-resty-session-4.1.5-memcached.json,
// see testdata/README.md) record what the unmodified lua-resty-session 4.1.5
// wrote into memcached and read from it, step by step, with pinned session
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

// refChange is an item a step created, changed or deleted.
type refChange struct {
	Key   string      `json:"key"`
	Op    string      `json:"op"` // created, changed or deleted
	Value string      `json:"value"`
	Flags uint32      `json:"flags"`
	TTL   int64       `json:"ttl"` // seconds from the step's time, -1: none
	Index []listEntry `json:"index"`
}

// listEntry is an entry of a subject index list: a live session's key and
// expiry, or a tombstone.
type listEntry struct {
	Key         string `json:"key"`
	ExpAt       int64  `json:"exp_at"`
	Invalidated bool   `json:"invalidated"`
}

// loadRefVectors reads the vectors; a missing file fails the test (it is
// part of the repository).
func loadRefVectors(t *testing.T) []refVector {
	t.Helper()
	path := os.Getenv("SESSIONGO_STORE_VECTORS")
	if path == "" {
		path = filepath.Join("testdata", "stores-lua-resty-session-4.1.5-memcached.json")
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
// with the step's own options over it, and the store's prefix.
func vectorConfig(t *testing.T, v refVector, step refStep) (session.Config, string) {
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
		case "memcached":
			return json.Unmarshal(value, &section)
		}
		return errors.New("not an option of the vectors")
	})
	if err != nil {
		t.Fatalf("vector config: %v", err)
	}
	if section.Suffix != "" {
		t.Fatalf("vector config: a memcached suffix (%q) the tests do not translate", section.Suffix)
	}
	return cfg, section.Prefix
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
	cfg, _ := vectorConfig(t, v, step)
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

// item is what memcached holds under a key, read with the meta protocol
// (mg), which also reports the flags and the remaining TTL.
type item struct {
	value string
	flags uint32
	ttl   int64     // -1: no expiry
	exp   time.Time // the expiry on the test's clock, within a second
}

// server reads and writes items of the test server directly: gomemcache
// knows neither the meta protocol nor a way to read an item's TTL.
type server struct {
	t     *testing.T
	c     *memcache.Client
	pick  memcache.ServerList
	mu    sync.Mutex
	conns map[string]*bufio.ReadWriter
	keys  map[string]bool // every key written, deleted at the end
}

func newServer(t *testing.T, c *memcache.Client) *server {
	sv := &server{t: t, c: c, conns: map[string]*bufio.ReadWriter{}, keys: map[string]bool{}}
	if err := sv.pick.SetServers(memcachedAddrs...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for k := range sv.keys {
			c.Delete(k)
		}
	})
	return sv
}

func (sv *server) conn(key string) *bufio.ReadWriter {
	addr, err := sv.pick.PickServer(key)
	if err != nil {
		sv.t.Fatal(err)
	}
	if rw := sv.conns[addr.String()]; rw != nil {
		return rw
	}
	nc, err := net.DialTimeout(addr.Network(), addr.String(), testTimeout)
	if err != nil {
		sv.t.Fatal(err)
	}
	sv.t.Cleanup(func() { nc.Close() })
	rw := bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))
	sv.conns[addr.String()] = rw
	return rw
}

// get reads key with "mg key v f t".
func (sv *server) get(key string) (item, bool) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.keys[key] = true
	rw := sv.conn(key)
	fmt.Fprintf(rw, "mg %s v f t\r\n", key)
	if err := rw.Flush(); err != nil {
		sv.t.Fatal(err)
	}
	line, err := rw.ReadString('\n')
	if err != nil {
		sv.t.Fatal(err)
	}
	fields := strings.Fields(line)
	switch {
	case len(fields) == 1 && fields[0] == "EN":
		return item{}, false
	case len(fields) < 2 || fields[0] != "VA":
		sv.t.Fatalf("mg %s: %q", key, line)
	}
	size, _ := strconv.Atoi(fields[1])
	var it item
	for _, f := range fields[2:] {
		n, _ := strconv.ParseInt(f[1:], 10, 64)
		switch f[0] {
		case 'f':
			it.flags = uint32(n)
		case 't':
			it.ttl = n
		}
	}
	if it.ttl >= 0 {
		it.exp = time.Now().Add(time.Duration(it.ttl) * time.Second)
	}
	buf := make([]byte, size+2)
	if _, err := io.ReadFull(rw, buf); err != nil {
		sv.t.Fatal(err)
	}
	it.value = string(buf[:size])
	return it, true
}

// put writes key as the reference wrote it.
func (sv *server) put(key string, it item) {
	sv.mu.Lock()
	sv.keys[key] = true
	sv.mu.Unlock()
	err := sv.c.Set(&memcache.Item{Key: key, Value: []byte(it.value), Flags: it.flags, Expiration: exptime(it.ttl)})
	if err != nil {
		sv.t.Fatal(err)
	}
}

func (sv *server) del(key string) {
	if err := sv.c.Delete(key); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		sv.t.Fatal(err)
	}
}

// exptime is memcached's expiration for a TTL in seconds (-1: none).
func exptime(ttl int64) int32 {
	switch {
	case ttl < 0:
		return 0
	case ttl > 30*24*3600:
		return int32(time.Now().Unix() + ttl)
	}
	return int32(max(ttl, 1))
}

// advance makes the items of keys d seconds older, as if the server's clock
// had moved on with the session library's between two steps: their TTLs
// shrink by d, and those it ends are deleted.
func (sv *server) advance(keys []string, d int64) {
	if d <= 0 {
		return
	}
	for _, k := range keys {
		it, ok := sv.get(k)
		if !ok || it.ttl < 0 {
			continue
		}
		if it.ttl <= d {
			sv.del(k)
			continue
		}
		if err := sv.c.Touch(k, exptime(it.ttl-d)); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			sv.t.Fatal(err)
		}
	}
}
