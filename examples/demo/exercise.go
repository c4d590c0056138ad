package demo

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestSecret is the secret the examples' tests give NewManager.
const TestSecret = "demo-test-secret"

// freshIdling matches the idling timeout of a session saved less than a
// minute ago: core counts whole seconds on the wall clock, so seconds may
// pass between the login and the page on a busy machine.
var freshIdling = regexp.MustCompile(`idling (15m0s|14m[1-5]?[0-9]s)`)

// welcome is the flash message every example's login leaves for alice:
// "Welcome, " + user + ".".
const welcome = "Welcome, alice."

// Exercise drives the demo served at baseURL (e.g. "http://127.0.0.1:1234")
// the way a browser would, through a cookie jar: the login form first, a
// login with remember-me, the signed-in page with its flash message, a
// page without it, a counted visit, the session and remember cookies, then
// a logout that leaves no cookie and the form again. It fails t at the first
// step that goes wrong.
func Exercise(t testing.TB, baseURL string) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatalf("base URL: %v", err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Jar: jar, Transport: tr}
	// page reads the page resp leads to (POSTs redirect to it).
	page := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s\n%s", resp.Request.Method, resp.Request.URL, resp.Status, b)
		}
		return string(b)
	}
	get := func() string {
		t.Helper()
		return page(c.Get(baseURL + "/"))
	}
	post := func(path string, form url.Values) string {
		t.Helper()
		return page(c.PostForm(baseURL+path, form))
	}

	if body := get(); !strings.Contains(body, `action="/login"`) {
		t.Fatalf("no login form before login:\n%s", body)
	}
	body := post("/login", url.Values{"user": {"alice"}, "remember": {"on"}})
	for _, want := range []string{welcome, "Signed in as <b>alice</b>", "Visits</dt><dd>0", "Remember me</dt><dd>true"} {
		if !strings.Contains(body, want) {
			t.Fatalf("after login, page lacks %q:\n%s", want, body)
		}
	}
	if !freshIdling.MatchString(body) { // the default 15 minutes, less the seconds since login
		t.Fatalf("after login, page lacks an idling timeout of about 15m:\n%s", body)
	}
	if body := get(); strings.Contains(body, welcome) {
		t.Fatalf("flash message shown twice:\n%s", body)
	}
	if body := post("/visit", nil); !strings.Contains(body, "Visits</dt><dd>1") {
		t.Fatalf("visit not counted:\n%s", body)
	}
	names := map[string]bool{}
	for _, ck := range jar.Cookies(u) {
		names[ck.Name] = true
	}
	if !names["session"] || !names["remember"] {
		t.Fatalf("cookies after login = %v, want session and remember", names)
	}
	if body := post("/logout", nil); !strings.Contains(body, `action="/login"`) {
		t.Fatalf("still signed in after logout:\n%s", body)
	}
	if left := jar.Cookies(u); len(left) != 0 {
		t.Fatalf("cookies left after logout: %v", left)
	}
}
