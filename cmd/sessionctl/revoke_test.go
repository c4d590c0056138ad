package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
)

// TestRevokeUsage checks the command lines revoke refuses, before it
// reaches any backend.
func TestRevokeUsage(t *testing.T) {
	t.Parallel()
	redisStorage := writeJSON(t, map[string]any{"secret": "s", "storage": "redis", "redis": map[string]any{"host": "127.0.0.1", "port": 1}})
	storeURL := writeJSON(t, map[string]any{"secret": "s", "store": "redis://127.0.0.1:1"})
	shm := writeJSON(t, map[string]any{"secret": "s", "storage": "cookie", "revocation": "shm"})
	noPath := writeJSON(t, map[string]any{"secret": "s", "revocation": "file", "file": map[string]any{}})
	subjectInFile := writeJSON(t, map[string]any{"secret": "s", "subject": "alice", "revocation": "file", "file": map[string]any{"path": t.TempDir()}})
	storeArg := "--store=file://" + t.TempDir()
	tests := []struct {
		name   string
		args   []string
		stdout string // a substring of stdout
		stderr string // a substring of stderr
	}{
		{"help", []string{"--help"}, "Usage: sessionctl revoke", ""},
		{"neither key nor subject", []string{storeArg}, "", "revoke needs --key or --subject"},
		{"a subject in the file is not a request", []string{"--config", subjectInFile}, "", "revoke needs --key or --subject"},
		{"both", []string{storeArg, "--key", "k", "--subject", "alice"}, "", "not both"},
		{"empty subject", []string{storeArg, "--subject", ""}, "", "--subject: empty"},
		{"ttl with subject", []string{storeArg, "--subject", "alice", "--ttl", "1h"}, "", "--ttl is for --key"},
		{"zero ttl", []string{storeArg, "--key", "k", "--ttl", "0"}, "", "at least one second"},
		{"negative ttl", []string{storeArg, "--key", "k", "--ttl", "-5"}, "", "negative"},
		{"bad ttl", []string{storeArg, "--key", "k", "--ttl", "soon"}, "", "want seconds"},
		{"arguments", []string{storeArg, "--key", "k", "extra"}, "", "takes no arguments"},
		{"no backend", []string{"--key", "k"}, "", "needs the revocation backend"},
		{"server-side storage", []string{"--config", redisStorage, "--key", "k"}, "", `storage "redis", not in the cookie`},
		{"server-side storage with --store", []string{"--config", redisStorage, storeArg, "--key", "k"}, "", "use \"sessions revoke\""},
		{"server-side store URL in the file", []string{"--config", storeURL, "--key", "k"}, "", "names a server-side store"},
		{"unreachable revocation backend", []string{"--config", shm, "--key", "k"}, "", `revocation "shm" cannot be reached`},
		{"revocation section without path", []string{"--config", noPath, "--key", "k"}, "", `revocation "file": path`},
		{"bad store scheme", []string{"--store", "ftp://x", "--key", "k"}, "", `unknown scheme "ftp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sessionctl(t, "", append([]string{"revoke"}, tt.args...)...)
			want := 2
			if tt.stdout != "" {
				want = 0
			}
			if r.code != want || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("sessionctl revoke %q: exit %d, want %d\nstdout: %s\nstderr: %s\nwant stdout with %q, stderr with %q",
					tt.args, r.code, want, r.stdout, r.stderr, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestRevokeBackendDown checks that a backend that cannot be reached fails
// the command (exit 1) with the store's redacted URL, and prints no report.
func TestRevokeBackendDown(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--key", "k"}, {"--subject", "alice"}} {
		r := sessionctl(t, "", append([]string{"revoke", "--store", "redis://user:hunter2@127.0.0.1:1?dial_timeout=1s&max_retries=-1", "--timeout", "3s"}, args...)...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "unable to revoke sessions") || strings.Contains(r.stderr, "hunter2") {
			t.Errorf("revoke %q with the backend down: exit %d, stdout %q, stderr %q; want exit 1, no report, a redacted URL", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestRevokeConfigWithoutWarning checks that a configuration's revocation
// backend and its section are understood by every command (no warning
// about unknown options).
func TestRevokeConfigWithoutWarning(t *testing.T) {
	t.Parallel()
	config := writeJSON(t, map[string]any{
		"secret": "a secret of sixteen bytes or more", "storage": "cookie", "revocation": "redis",
		"redis": map[string]any{"host": "127.0.0.1", "port": 1}, "revocation_fail_mode": "open",
	})
	r := sessionctl(t, "", "new", "--config", config)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("new with a revocation backend in the config: exit %d, stderr %q", r.code, r.stderr)
	}
}

// The configuration of the revocation tests: the application's, read by
// sessionctl (--config) and by the application (session.ParseConfig).
// The subject mark is kept for the longer of the two absolute timeouts,
// plus the library's 2 s margin.
var revokeConfig = map[string]any{
	"secret":                    "sessionctl revoke test secret",
	"audience":                  "shop",
	"storage":                   "cookie",
	"absolute_timeout":          3600,
	"remember_absolute_timeout": 7200,
	"cookie_secure":             false,
}

const revokeSubjectTTL = 7200 + 2

// revokeApp is the application: a Manager of the same configuration with
// the backend as its revocation backend, on a clock the test can move
// ahead.
type revokeApp struct {
	m      *session.Manager
	ahead  atomic.Int64 // seconds added to the real time
	config string       // the configuration file
}

func newRevokeApp(t *testing.T, config map[string]any, backendURL string) *revokeApp {
	t.Helper()
	a := &revokeApp{config: writeJSON(t, config)}
	raw, err := os.ReadFile(a.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := session.ParseConfig(raw)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := openStore(ctx, backendURL)
	if err != nil {
		t.Fatalf("openStore(%s): %v", backendURL, err)
	}
	t.Cleanup(conn.close)
	cfg.Revocation = conn.store.(store.Revoker)
	cfg.Clock = func() time.Time { return time.Now().Add(time.Duration(a.ahead.Load()) * time.Second) }
	if a.m, err = session.New(cfg); err != nil {
		t.Fatalf("session.New: %v", err)
	}
	return a
}

// login saves a session of subject carrying keys and returns its Cookie
// header.
func (a *revokeApp) login(t *testing.T, subject string, keys ...string) string {
	t.Helper()
	w := httptest.NewRecorder()
	s := a.m.NewSession(adapter.NewHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil)))
	s.SetSubject(subject)
	s.SetRevocationKeys(keys...)
	if err := s.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}
	var pairs []string
	for _, c := range w.Result().Cookies() {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	return strings.Join(pairs, "; ")
}

// open opens a Cookie header in the application: nil when the session
// opens.
func (a *revokeApp) open(t *testing.T, cookie string) error {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", cookie)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return a.m.NewSession(adapter.NewHTTP(httptest.NewRecorder(), r.WithContext(ctx))).Open()
}

func (a *revokeApp) wantOpen(t *testing.T, cookie, why string) {
	t.Helper()
	if err := a.open(t, cookie); err != nil {
		t.Errorf("%s: Open = %v; want the session", why, err)
	}
}

func (a *revokeApp) wantRevoked(t *testing.T, cookie, why string) {
	t.Helper()
	if err := a.open(t, cookie); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("%s: Open = %v; want a revoked session (ErrNotFound)", why, err)
	}
}

// revokeRun runs sessionctl revoke and decodes its report.
func revokeRun(t *testing.T, args ...string) revokeReport {
	t.Helper()
	out := mustRun(t, "", append(append([]string{"revoke"}, args...), commandTimeout...)...)
	var r revokeReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("revoke printed %q: %v", out, err)
	}
	return r
}

// checkReport checks a report against what was asked, and that the
// backend holds the mark it reports.
func checkReport(t *testing.T, a *revokeApp, backendURL string, r revokeReport, kind string, ttl int64, before, after time.Time) {
	t.Helper()
	if r.Revoked != kind || !strings.HasPrefix(r.Mark, map[string]string{"key": "key:", "subject": "sub:"}[kind]) || len(r.Mark) != 47 {
		t.Errorf("report %+v: want a %s mark (47 characters)", r, kind)
	}
	if r.At < before.Unix() || r.At > after.Unix() || r.TTL != ttl {
		t.Errorf("report at %d ttl %d; want at within [%d, %d], ttl %d", r.At, r.TTL, before.Unix(), after.Unix(), ttl)
	}
	if at, _ := time.Parse(time.RFC3339, r.AtTime); at.Unix() != r.At {
		t.Errorf("report at_time %q, at %d", r.AtTime, r.At)
	}
	if exp, _ := time.Parse(time.RFC3339, r.ExpiresAt); exp.Unix() != r.At+r.TTL {
		t.Errorf("report expires_at %q; want at + ttl", r.ExpiresAt)
	}
	if strings.Contains(r.Store, "hunter2") {
		t.Errorf("report store %q shows the password", r.Store)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := openStore(ctx, backendURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.close()
	ats, err := conn.store.(store.Revoker).Revoked(ctx, []string{r.Mark}, time.Now())
	if err != nil || len(ats) != 1 || ats[0].Unix() != r.At {
		t.Errorf("the backend's answer for the reported mark %s: %v, %v; want its At %d", r.Mark, ats, err, r.At)
	}
}

// TestRevoke revokes by subject and by key through the binary, on every
// store as the revocation backend (given with --store), and checks that
// the application, a Manager of the same configuration, rejects the
// revoked sessions (made by "sessionctl new" and by the application) and
// no others, while a session created a second later opens.
func TestRevoke(t *testing.T) {
	cases := append([]backend{{"file", func(t *testing.T) string { return "file://" + t.TempDir() }}}, backends...)
	for _, b := range cases {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			u := b.setup(t)
			app := newRevokeApp(t, revokeConfig, u)
			testRevoke(t, app, u, "--store", u)
		})
	}
}

// TestRevokeFromConfig takes the backend from the configuration's
// "revocation" and its section, as an OpenResty or Kong configuration
// names it: Redis and the file store.
func TestRevokeFromConfig(t *testing.T) {
	redisAddr := getenv("SESSIONGO_REDIS_ADDR", "127.0.0.1:6379")
	tests := []struct {
		name    string
		section func(t *testing.T) (string, map[string]any)
	}{
		{"file", func(t *testing.T) (string, map[string]any) {
			return "file", map[string]any{"path": t.TempDir()}
		}},
		{"redis", func(t *testing.T) (string, map[string]any) {
			u, err := url.Parse(backendNamed(t, "redis").setup(t)) // for its prefix, deleted when the test ends
			if err != nil {
				t.Fatal(err)
			}
			host, port, _ := strings.Cut(redisAddr, ":")
			return "redis", map[string]any{"host": host, "port": port, "prefix": u.Query().Get("prefix")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, section := tt.section(t)
			config := map[string]any{"revocation": name, name: section}
			for k, v := range revokeConfig {
				config[k] = v
			}
			u, err := storageURL(name, section)
			if err != nil {
				t.Fatal(err)
			}
			app := newRevokeApp(t, config, u)
			testRevoke(t, app, u)
		})
	}
}

func backendNamed(t *testing.T, name string) backend {
	for _, b := range backends {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("no backend %q", name)
	return backend{}
}

// testRevoke runs the revocations; backendArgs locate the backend for
// sessionctl, besides the application's configuration.
func testRevoke(t *testing.T, app *revokeApp, backendURL string, backendArgs ...string) {
	args := append([]string{"--config", app.config}, backendArgs...)
	newCookie := func(subject string) string {
		t.Helper()
		out := mustRun(t, "", "new", "--config", app.config, "--subject", subject, "--json")
		var r newReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("new --json printed %q: %v", out, err)
		}
		return r.Cookie
	}
	alice, bob := newCookie("alice"), newCookie("bob")
	aliceApp := app.login(t, "alice")
	dave := app.login(t, "dave", "sid:https://idp.example#1", "sub:https://idp.example#dave")
	erin := app.login(t, "erin", "sid:https://idp.example#2")
	for _, c := range []string{alice, bob, aliceApp, dave, erin} {
		app.wantOpen(t, c, "before any revocation")
	}

	before := time.Now()
	r := revokeRun(t, append(args, "--subject", "alice")...)
	checkReport(t, app, backendURL, r, "subject", revokeSubjectTTL, before, time.Now())
	if r.Audience != "shop" || r.Subject != "alice" || r.Key != "" {
		t.Errorf("subject report %+v: want audience shop (from the config), subject alice", r)
	}
	app.wantRevoked(t, alice, "alice's session made by sessionctl new, after revoke --subject alice")
	app.wantRevoked(t, aliceApp, "alice's session made by the application, after revoke --subject alice")
	app.wantOpen(t, bob, "bob's session after revoke --subject alice")
	app.wantOpen(t, dave, "dave's session after revoke --subject alice")

	before = time.Now()
	r = revokeRun(t, append(args, "--key", "sid:https://idp.example#1", "--ttl", "1h")...)
	checkReport(t, app, backendURL, r, "key", 3600, before, time.Now())
	if r.Key != "sid:https://idp.example#1" || r.Subject != "" {
		t.Errorf("key report %+v", r)
	}
	app.wantRevoked(t, dave, "a session carrying the revoked key")
	app.wantOpen(t, erin, "a session carrying another key")
	app.wantOpen(t, bob, "a session without keys, after revoke --key")

	r = revokeRun(t, append(args, "--key", "sid:https://idp.example#2")...)
	checkReport(t, app, backendURL, r, "key", revokeSubjectTTL, before, time.Now())
	app.wantRevoked(t, erin, "a session carrying a key revoked with the default TTL")

	// A sign-in a second later opens: the marks revoke what was created
	// until they were written.
	app.ahead.Store(1)
	app.wantOpen(t, app.login(t, "alice"), "alice's session created a second after the revocation")
	app.wantOpen(t, app.login(t, "dave", "sid:https://idp.example#1"), "a session carrying the key created a second after the revocation")
}
