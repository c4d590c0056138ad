package demo

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// What the examples' accounts hold, as the page shows it: alice's id is
// beyond 2^53 (a float64 would make it ...992), her Since has nanoseconds
// and an offset of +02:00.
const (
	aliceName  = "Alice Archer"
	aliceID    = "9007199254740993"
	aliceSince = "2019-03-14T15:09:26.535897932+02:00"
	aliceRoles = "admin, editor"
	bobID      = "9007199254740995"
	welcome    = "Welcome, Alice Archer."
	unknown    = "Unknown user"
	loginForm  = `action="/login"`
)

// Exercise drives the example served at baseURL (e.g.
// "http://127.0.0.1:1234"), whose Manager was configured with env, the way
// browsers would, each through its own cookie jar. Its subtests run in
// order, each on the state the previous ones left:
//
//   - a visitor gets the login form and no cookie;
//   - an unknown user gets a flash message, once, and an anonymous session;
//   - alice signs in with remember-me: the welcome message once, her profile
//     (an int64 beyond 2^53, a time with nanoseconds and an offset, a list)
//     and the visit counter exact on later requests, read through the
//     service code; a copy of her cookie from before the sign-in does not
//     open her session;
//   - visits are counted; the remember cookie restores the session after a
//     browser restart;
//   - logout: copies of her cookies taken before it (at sign-in, and just
//     before the logout) no longer open;
//   - log out everywhere: of two browsers signed in as alice, one logs out
//     everywhere and the other is signed out; bob is not; a sign-in in the
//     same second (on env's clock) is revoked too, one a second later opens,
//     also in a browser whose anonymous session is older than the mark;
//   - an outage of the revocation backend: reads failing give a 500 (text
//     logged, not sent) to a signed-in browser, and still the login form to
//     a browser without a session or with a tampered cookie; writes failing
//     make logout and log out everywhere answer 500 and change nothing.
func Exercise(t *testing.T, env *Env, baseURL string) {
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatalf("base URL: %v", err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	x := &exercise{env: env, base: baseURL, u: u, tr: tr}

	var alice *browser
	var atLogin []*http.Cookie // alice's cookies just after her sign-in
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"visitor gets the login form", func(t *testing.T) {
			b := x.browser(t)
			body := b.page(t, b.get(t))
			if !strings.Contains(body, loginForm) || field(body, "user") != "" {
				t.Fatalf("a visitor does not get the login form:\n%s", body)
			}
			if c := b.cookies(); len(c) != 0 {
				t.Fatalf("a visitor who only looked got cookies: %v", c)
			}
		}},
		{"unknown user gets a flash message once", func(t *testing.T) {
			alice = x.browser(t)
			body := alice.page(t, alice.post(t, "/login", url.Values{"user": {"mallory"}}))
			if !strings.Contains(body, unknown) || !strings.Contains(body, loginForm) {
				t.Fatalf("after an unknown user's sign-in, want the notice and the login form:\n%s", body)
			}
			if body := alice.page(t, alice.get(t)); strings.Contains(body, unknown) {
				t.Fatalf("flash message shown twice:\n%s", body)
			}
			if !alice.has("session") {
				t.Fatalf("no anonymous session cookie after the flash message: %v", alice.cookies())
			}
		}},
		{"sign-in renews and reads back typed values", func(t *testing.T) {
			before := alice.cookies() // the anonymous session, as an attacker could have planted it
			body := alice.page(t, alice.post(t, "/login", url.Values{"user": {"alice"}, "remember": {"on"}}))
			if !strings.Contains(body, welcome) {
				t.Fatalf("after sign-in, no welcome message:\n%s", body)
			}
			checkAlice(t, body, "0")
			if got := field(body, "remaining"); got != "idling 15m0s, rolling 1h0m0s, absolute 24h0m0s" {
				t.Errorf("remaining timeouts = %q, want the defaults, as the clock stood still", got)
			}
			if got := field(body, "remember"); got != "true" {
				t.Errorf("remember = %q, want true", got)
			}
			if !alice.has("session") || !alice.has("remember") {
				t.Fatalf("cookies after sign-in = %v, want session and remember", alice.cookies())
			}
			atLogin = alice.cookies()
			body = alice.page(t, alice.get(t))
			if strings.Contains(body, welcome) {
				t.Fatalf("flash message shown twice:\n%s", body)
			}
			checkAlice(t, body, "0")

			planted := x.browser(t)
			planted.set(before)
			if body := planted.page(t, planted.get(t)); field(body, "user") != "" || !strings.Contains(body, loginForm) {
				t.Fatalf("the cookie from before the sign-in opens the signed-in session:\n%s", body)
			}
		}},
		{"visits are counted and remember-me restores", func(t *testing.T) {
			alice.page(t, alice.post(t, "/visit", nil))
			body := alice.page(t, alice.post(t, "/visit", nil))
			checkAlice(t, body, "2")
			restarted := x.browser(t) // alice's browser after a restart: session cookies are gone
			restarted.set(alice.only("remember"))
			checkAlice(t, restarted.page(t, restarted.get(t)), "2")
		}},
		{"logout ends every copy", func(t *testing.T) {
			beforeLogout := alice.cookies()
			copied := x.browser(t)
			copied.set(beforeLogout)
			checkAlice(t, copied.page(t, copied.get(t)), "2") // the copy works until the logout
			if body := alice.page(t, alice.post(t, "/logout", nil)); !strings.Contains(body, loginForm) {
				t.Fatalf("still signed in after logout:\n%s", body)
			}
			if c := alice.cookies(); len(c) != 0 {
				t.Fatalf("cookies left after logout: %v", c)
			}
			for _, cp := range []struct {
				name    string
				cookies []*http.Cookie
			}{
				{"taken just before the logout", beforeLogout},
				{"taken at sign-in, before two saves", atLogin},
				{"remember cookie alone", onlyCookie(beforeLogout, "remember")},
			} {
				b := x.browser(t)
				b.set(cp.cookies)
				if body := b.page(t, b.get(t)); field(body, "user") != "" {
					t.Errorf("a copy of the cookies %s opens after logout:\n%s", cp.name, body)
				}
			}
		}},
		{"log out everywhere", func(t *testing.T) {
			// early has had an anonymous session since before the log out
			// everywhere, and signs in after it: Renew gives the signed-in
			// session a creation time of its own (Save would keep the
			// anonymous session's, and the mark would revoke it).
			early := x.browser(t)
			early.page(t, early.post(t, "/login", url.Values{"user": {"mallory"}}))
			x.env.Clock.Advance(time.Second)
			a, b, bob := x.browser(t), x.browser(t), x.browser(t)
			x.signIn(t, a, "alice")
			x.signIn(t, b, "alice")
			x.signIn(t, bob, "bob")
			if body := b.page(t, b.post(t, "/logout-everywhere", nil)); field(body, "user") != "" {
				t.Fatalf("still signed in after log out everywhere:\n%s", body)
			}
			if body := a.page(t, a.get(t)); field(body, "user") != "" || !strings.Contains(body, loginForm) {
				t.Fatalf("the other browser is still signed in after log out everywhere:\n%s", body)
			}
			if body := bob.page(t, bob.get(t)); field(body, "user-id") != bobID {
				t.Fatalf("bob was signed out by alice's log out everywhere:\n%s", body)
			}
			// The mark covers the second it was written in: a sign-in in
			// that second is revoked at once, and the page is the form.
			if body := a.page(t, a.post(t, "/login", url.Values{"user": {"alice"}})); field(body, "user") != "" || strings.Contains(body, welcome) {
				t.Fatalf("a sign-in in the second of log out everywhere opens:\n%s", body)
			}
			x.env.Clock.Advance(time.Second)
			for _, br := range []*browser{a, b, early} {
				body := br.page(t, br.post(t, "/login", url.Values{"user": {"alice"}}))
				if !strings.Contains(body, welcome) {
					t.Fatalf("a sign-in a second after log out everywhere does not open:\n%s", body)
				}
				checkAlice(t, br.page(t, br.get(t)), "0")
			}
		}},
		{"backend outage", func(t *testing.T) {
			b := x.browser(t)
			x.signIn(t, b, "bob")
			defer x.env.Backend.Fail(false, false)

			x.env.Backend.Fail(true, false) // reads fail: no session can be checked
			x.serverError(t, b, "GET /", func() *http.Response { return b.get(t) })
			if !b.has("session") {
				t.Fatalf("the outage cost the browser its cookies: %v", b.cookies())
			}
			visitor := x.browser(t)
			if body := visitor.page(t, visitor.get(t)); !strings.Contains(body, loginForm) {
				t.Fatalf("during an outage, a visitor without a session does not get the login form:\n%s", body)
			}
			forged := x.browser(t)
			forged.set(tamper(b.cookies()))
			if body := forged.page(t, forged.get(t)); !strings.Contains(body, loginForm) {
				t.Fatalf("during an outage, a tampered cookie does not get the login form:\n%s", body)
			}

			x.env.Backend.Fail(false, true) // writes fail: nothing can be revoked
			x.serverError(t, b, "POST /logout-everywhere", func() *http.Response { return b.post(t, "/logout-everywhere", nil) })
			x.serverError(t, b, "POST /logout", func() *http.Response { return b.post(t, "/logout", nil) })
			if body := b.page(t, b.get(t)); field(body, "user-id") != bobID {
				t.Fatalf("a failed logout changed the session:\n%s", body)
			}

			x.env.Backend.Fail(false, false)
			if body := b.page(t, b.post(t, "/logout", nil)); field(body, "user") != "" {
				t.Fatalf("still signed in after the backend came back and logout:\n%s", body)
			}
		}},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			return // the next steps build on this one
		}
	}
}

// exercise is the state of one Exercise.
type exercise struct {
	env  *Env
	base string
	u    *url.URL
	tr   *http.Transport
}

// browser is one client with its own cookie jar.
type browser struct {
	x   *exercise
	jar *cookiejar.Jar
	c   *http.Client
}

func (x *exercise) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{x: x, jar: jar, c: &http.Client{Jar: jar, Transport: x.tr}}
}

// get gets the page.
func (b *browser) get(t *testing.T) *http.Response {
	t.Helper()
	resp, err := b.c.Get(b.x.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// post posts form to path, following the redirect to the page.
func (b *browser) post(t *testing.T, path string, form url.Values) *http.Response {
	t.Helper()
	resp, err := b.c.PostForm(b.x.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// read returns resp's status and body.
func read(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// page returns the body of a 200 response (form posts redirect to the page).
func (b *browser) page(t *testing.T, resp *http.Response) string {
	t.Helper()
	status, body := read(t, resp)
	if status != http.StatusOK {
		t.Fatalf("%s %s: %d\n%s", resp.Request.Method, resp.Request.URL, status, body)
	}
	return body
}

func (b *browser) cookies() []*http.Cookie { return b.jar.Cookies(b.x.u) }

func (b *browser) only(name string) []*http.Cookie { return onlyCookie(b.cookies(), name) }

func (b *browser) has(name string) bool { return len(b.only(name)) != 0 }

func (b *browser) set(cookies []*http.Cookie) { b.jar.SetCookies(b.x.u, cookies) }

func onlyCookie(cookies []*http.Cookie, name string) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range cookies {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// tamper returns copies of cookies with one character of each value changed.
func tamper(cookies []*http.Cookie) []*http.Cookie {
	out := make([]*http.Cookie, len(cookies))
	for i, c := range cookies {
		v := []byte(c.Value)
		if n := len(v) / 2; n > 0 {
			if v[n] == 'A' {
				v[n] = 'B'
			} else {
				v[n] = 'A'
			}
		}
		out[i] = &http.Cookie{Name: c.Name, Value: string(v)}
	}
	return out
}

// signIn signs br in as user (alice or bob), with remember-me.
func (x *exercise) signIn(t *testing.T, br *browser, user string) {
	t.Helper()
	body := br.page(t, br.post(t, "/login", url.Values{"user": {user}, "remember": {"on"}}))
	if got := field(body, "user"); got != user {
		t.Fatalf("signed in as %q, want %q:\n%s", got, user, body)
	}
}

// serverError checks that do gets a bare 500, and that the backend's error
// reached the log but not the client.
func (x *exercise) serverError(t *testing.T, b *browser, what string, do func() *http.Response) {
	t.Helper()
	logged := len(x.env.Log.String())
	status, body := read(t, do())
	if status != http.StatusInternalServerError {
		t.Fatalf("%s during an outage: %d, want 500\n%s", what, status, body)
	}
	if strings.Contains(body, OutageHost) || strings.Contains(body, "refused") {
		t.Fatalf("%s during an outage: the response tells the backend's error: %q", what, body)
	}
	if log := x.env.Log.String()[logged:]; !strings.Contains(log, OutageHost) {
		t.Fatalf("%s during an outage: the backend's error was not logged; log:\n%s", what, log)
	}
}

// checkAlice checks that body is alice's page with her exact profile and
// visits visits.
func checkAlice(t *testing.T, body, visits string) {
	t.Helper()
	for _, f := range []struct{ id, want string }{
		{"user", "alice"},
		{"name", aliceName},
		{"user-id", aliceID},
		{"since", aliceSince},
		{"roles", aliceRoles},
		{"visits", visits},
	} {
		if got := field(body, f.id); got != f.want {
			t.Fatalf("%s = %q, want %q:\n%s", f.id, got, f.want, body)
		}
	}
}

var fieldRE = regexp.MustCompile(`id="([a-z-]+)">([^<]*)<`)

// field returns the text of the page element with the given id, unescaped.
func field(body, id string) string {
	for _, m := range fieldRE.FindAllStringSubmatch(body, -1) {
		if m[1] == id {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}
