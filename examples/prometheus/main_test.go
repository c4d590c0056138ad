package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sessiongo/session/examples/demo"
)

// newTestApp serves the app over plain HTTP on loopback (so newConfig
// turns Secure off) with a Manager on demo's clock, failing backend and
// log.
func newTestApp(t *testing.T) (*demo.Env, *httptest.Server) {
	t.Helper()
	env, err := demo.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	app, err := newApp(env.Configure(newConfig(demo.TestSecret, env.Backend, "127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return env, srv
}

// TestApp drives the app with browsers (demo.Exercise): the metrics change
// nothing of what the app does.
func TestApp(t *testing.T) {
	env, srv := newTestApp(t)
	demo.Exercise(t, env, srv.URL)
	if got := scrape(t, srv.URL); got[`session_opens_total{session_audience="default",session_outcome="revoked"}`] == 0 {
		t.Errorf("after the exercise, no revoked opens in /metrics:\n%s", dump(got))
	}
}

// TestMetrics signs alice in with remember-me, shows the page, counts a
// visit, shows the page again, sends a tampered cookie from another
// browser, and logs out; then /metrics holds exactly these counts.
func TestMetrics(t *testing.T) {
	_, srv := newTestApp(t)
	alice := newBrowser(t, srv.URL)
	alice.do(t, "GET", "/", nil)                                                     // the login form: no cookie
	alice.do(t, "POST", "/login", url.Values{"user": {"alice"}, "remember": {"on"}}) // Renew: both cookies created
	alice.do(t, "GET", "/", nil)                                                     // the welcome flash, popped: a save
	alice.do(t, "POST", "/visit", nil)                                               // a save
	alice.do(t, "GET", "/", nil)                                                     // nothing to save

	mallory := newBrowser(t, srv.URL)
	for _, c := range alice.jar.Cookies(alice.u) {
		if c.Name == "session" {
			b := []byte(c.Value)
			// One character of the MAC, the header's last 22 characters.
			if b[100] == 'A' {
				b[100] = 'B'
			} else {
				b[100] = 'A'
			}
			mallory.jar.SetCookies(alice.u, []*http.Cookie{{Name: c.Name, Value: string(b)}})
		}
	}
	if body := mallory.do(t, "GET", "/", nil); !strings.Contains(body, `name="user"`) {
		t.Fatalf("a tampered cookie does not get the login form:\n%s", body)
	}
	alice.do(t, "POST", "/logout", nil) // Revoke the sign-in's key, then Destroy: two mark writes
	alice.do(t, "GET", "/", nil)        // no cookie left

	const aud = `session_audience="default"`
	want := map[string]float64{
		// none: the first page, the login post, the last page; opened: two
		// pages, the visit, the logout.
		`session_opens_total{` + aud + `,session_outcome="none"}`:    3,
		`session_opens_total{` + aud + `,session_outcome="opened"}`:  4,
		`session_opens_total{` + aud + `,session_outcome="invalid"}`: 1,
		// Login creates both cookies; the flash and the visit rotate both.
		`session_saves_total{` + aud + `,session_cookie="session"}`:                              3,
		`session_saves_total{` + aud + `,session_cookie="remember"}`:                             3,
		`session_rotations_total{` + aud + `,session_cookie="session",session_renewed="false"}`:  2,
		`session_rotations_total{` + aud + `,session_cookie="remember",session_renewed="false"}`: 2,
		`session_cookie_size_bytes_count{` + aud + `,session_cookie="session"}`:                  3,
		`session_cookie_size_bytes_count{` + aud + `,session_cookie="remember"}`:                 3,
		`session_destroys_total{` + aud + `}`:                                                    1,
		`session_revocations_total{` + aud + `,session_revocation_scope="key"}`:                  1,
		// Lookups: each of the four opens (the tampered cookie costs none)
		// and the remember cookie of each of the two saves.
		`session_store_duration_seconds_count{` + aud + `,session_store_operation="revoked",session_store_type="demo.Backend"}`: 6,
		`session_store_duration_seconds_count{` + aud + `,session_store_operation="revoke",session_store_type="demo.Backend"}`:  2,
	}
	if got := scrape(t, srv.URL); !maps.Equal(got, want) {
		t.Errorf("/metrics:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

// browser is a client with a cookie jar that does not follow redirects,
// so that each request is one step.
type browser struct {
	base string
	u    *url.URL
	jar  *cookiejar.Jar
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{base: base, u: u, jar: jar, c: c}
}

// do sends one request and returns the body of its 200 or 303 response.
func (b *browser) do(t *testing.T, method, path string, form url.Values) string {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "GET" {
		resp, err = b.c.Get(b.base + path)
	} else {
		resp, err = b.c.PostForm(b.base+path, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s %s: %d\n%s", method, path, resp.StatusCode, body)
	}
	return string(body)
}

// scrape gets /metrics and returns the samples of the session_ families,
// but the histograms' buckets and sums: name{labels} -> value, without the
// otel_scope_ labels, which every sample carries.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "session_") || strings.Contains(line, "_bucket{") || strings.Contains(line, "_sum{") {
			continue
		}
		open, close := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
		if open < 0 || close < open {
			t.Fatalf("unexpected sample %q", line)
		}
		var labels []string
		for _, l := range strings.Split(line[open+1:close], ",") {
			if !strings.HasPrefix(l, "otel_scope_") {
				labels = append(labels, l)
			}
		}
		slices.Sort(labels)
		var v float64
		if _, err := fmt.Sscan(strings.TrimSpace(line[close+1:]), &v); err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:open]+"{"+strings.Join(labels, ",")+"}"] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func dump(m map[string]float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString("  " + k + " " + strconv.FormatFloat(m[k], 'g', -1, 64) + "\n")
	}
	return b.String()
}
