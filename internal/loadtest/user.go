package loadtest

import (
	"context"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Mode is where the app under load keeps its sessions.
type Mode string

const (
	// CookieMode is the example app as documented: sessions in the cookie,
	// revocation (logout) in the store. Every request reads the store, a
	// logout writes it; a lost write is a logout undone, seen when a copy
	// of the cookies from before the logout opens the session again.
	CookieMode Mode = "cookie"
	// ServerMode keeps the sessions in the store (Config.Store): every
	// sign-in and visit is a save; a lost save is a session gone or a
	// counter gone back. In this mode a user logs out by closing the
	// browser (dropping its cookies): the run measures saves, and a
	// Destroy's deletes are covered by the stores' own tests.
	ServerMode Mode = "server"
)

// sessionCookie is the name of the app's session cookie.
const sessionCookie = "session"

// keptRevoked is how many logged-out cookie sets a user keeps replaying.
const keptRevoked = 8

// user is one virtual user: a browser (a cookie jar) that signs in and
// visits, and what it knows the app acknowledged. Not safe for concurrent
// use: a user does one thing at a time.
type user struct {
	rec  *recorder
	base string
	u    *url.URL
	mode Mode
	name string // alice or bob
	tr   http.RoundTripper
	rng  *rand.Rand
	now  func() time.Time // the harness's clock; tests set their own
	c    *http.Client

	signedIn bool
	unsure   bool // a logout failed: signed in or out, the next page tells
	lastOK   bool // the last request succeeded
	flash    bool // signed in, the welcome message not yet read (its read is a save)
	// failedSave is the start of the first request since the last
	// acknowledged save that failed and may have saved all the same (zero:
	// none). Such a save gives the session a new record and leaves the one
	// the cookie names readable for StaleTTL only (server mode).
	failedSave time.Time
	acked      int64 // visits the app acknowledged since the sign-in, as last seen
	pending    int64 // visits that failed: each may or may not have been saved
	revoked    [][]*http.Cookie
}

// staleTTL is the app's Config.StaleTTL (the default), and staleMargin
// what the stores' rounding of it to seconds may take off.
const (
	staleTTL    = 10 * time.Second
	staleMargin = time.Second
)

func newUser(rec *recorder, base string, mode Mode, name string, tr http.RoundTripper, seed uint64) (*user, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	us := &user{rec: rec, base: base, u: u, mode: mode, name: name, tr: tr, rng: rand.New(rand.NewPCG(seed, 18)), now: time.Now}
	us.closeBrowser()
	return us, nil
}

func (us *user) client(jar http.CookieJar) *http.Client {
	return &http.Client{
		Jar: jar, Transport: us.tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// closeBrowser starts over with an empty cookie jar.
func (us *user) closeBrowser() {
	jar, _ := cookiejar.New(nil) // never fails without options
	us.c = us.client(jar)
	us.signedOut()
}

func (us *user) signedOut() {
	us.signedIn, us.unsure, us.flash, us.acked, us.pending = false, false, false, 0, 0
	us.failedSave = time.Time{}
}

// step does one thing a user does, as the mix says: sign in when signed
// out; else mostly look at the page and count visits, sometimes replay a
// logged-out cookie (cookie mode), and sometimes log out.
func (us *user) step(ctx context.Context) {
	if !us.signedIn && !us.unsure {
		if us.login(ctx) {
			us.page(ctx, "page")
		}
		return
	}
	switch p := us.rng.Float64(); {
	case !us.lastOK: // after a failure, look first: a logout now would hide what the failure did
		us.page(ctx, "page")
	case p < 0.45:
		us.page(ctx, "page")
	case p < 0.90:
		us.visit(ctx)
	case p < 0.96:
		if !us.replayOne(ctx) {
			us.page(ctx, "page")
		}
	default:
		us.logout(ctx)
	}
}

// answer is what do returns: the outcome, and the body and whether a
// session cookie was set when the status was the expected one.
type answer struct {
	class  Class
	body   string
	cookie bool // a Set-Cookie with a value for the session cookie
}

// do sends a request over c, records it, and reads the answer: a GET of
// the page with cookies added (nil form), or a POST of form to path.
func (us *user) do(ctx context.Context, c *http.Client, path string, form url.Values, cookies []*http.Cookie, op string, want int) answer {
	start := us.now()
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	var a answer
	var resp *http.Response
	req, err := http.NewRequestWithContext(ctx, method, us.base+path, body)
	if err == nil {
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		resp, err = c.Do(req)
	}
	status := 0
	if err == nil {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		status, a.body = resp.StatusCode, string(b)
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie && ck.Value != "" && ck.MaxAge >= 0 {
				a.cookie = true
			}
		}
	}
	a.class = classify(status, err, want)
	us.rec.add(Result{Start: start, End: us.now(), Op: op, Class: a.class})
	if c == us.c {
		us.lastOK = a.class == OK
		// A visit, or the page while the welcome message is unread, saves.
		if saves := op == "visit" || us.flash; a.class != OK && saves && us.signedIn && us.failedSave.IsZero() {
			us.failedSave = start
		}
	}
	return a
}

func (us *user) get(ctx context.Context, op string) answer {
	return us.do(ctx, us.c, "/", nil, nil, op, http.StatusOK)
}

func (us *user) post(ctx context.Context, path string, form url.Values, op string) answer {
	if form == nil {
		form = url.Values{}
	}
	return us.do(ctx, us.c, path, form, nil, op, http.StatusSeeOther)
}

// login signs in (without remember-me): a 303 that sets the session
// cookie is an acknowledged save of a session with 0 visits.
func (us *user) login(ctx context.Context) bool {
	a := us.post(ctx, "/login", url.Values{"user": {us.name}}, "login")
	if a.class != OK {
		return false
	}
	if !a.cookie {
		us.wrong("login", "a sign-in of %s answered 303 without a session cookie", us.name)
		return false
	}
	us.signedOut()
	us.signedIn, us.flash = true, true
	return true
}

// visit counts a visit: a 303 that sets the session cookie is an
// acknowledged save; a 303 without one says the session is not there (the
// example redirects without saving); a failure may or may not have saved.
func (us *user) visit(ctx context.Context) {
	a := us.post(ctx, "/visit", nil, "visit")
	switch {
	case a.class != OK:
		us.pending++
	case a.cookie:
		us.acked++
		us.failedSave = time.Time{}
	default:
		us.observe("", "", "visit")
	}
}

// page gets the page and checks it against what the app acknowledged.
func (us *user) page(ctx context.Context, op string) {
	a := us.get(ctx, op)
	if a.class != OK {
		return
	}
	if a.cookie { // a save (the welcome message read once): the user's cookie names a new record
		us.failedSave = time.Time{}
	}
	us.flash = false
	us.observe(Field(a.body, "user"), Field(a.body, "visits"), op)
}

func (us *user) wrong(op, format string, args ...any) {
	now := us.now()
	us.rec.add(Result{Start: now, End: now, Op: op, Class: WrongPage})
	us.rec.event(Event{At: now, Kind: Wrong, What: fmt.Sprintf(format, args...)})
}

// observe checks what the app said: who is signed in ("" for nobody) and
// the visit counter. Another user's page, or more visits than were ever
// sent, is wrong; nobody signed in while the user is, or fewer visits than
// acknowledged, is a loss. In server mode a session gone at least StaleTTL
// (less a second) after a failed save began is GoneAfterError instead: that
// save may have been applied, and the record the cookie names then expires
// StaleTTL later. A session gone earlier than that was lost.
func (us *user) observe(who, visits, op string) {
	if us.unsure { // after a failed logout either state is right
		if who == "" {
			us.signedOut()
			return
		}
		us.unsure = false
	}
	switch {
	case who == "" && !us.signedIn:
		return
	case who == "":
		now := us.now()
		e := Event{At: now, Kind: Lost, Saves: us.acked + 1,
			What: fmt.Sprintf("the session of %s (%d acknowledged visits) is gone", us.name, us.acked)}
		if us.mode == ServerMode && !us.failedSave.IsZero() && now.Sub(us.failedSave) >= staleTTL-staleMargin {
			e.Kind, e.Saves = GoneAfterError, 0
			e.What += fmt.Sprintf(", %.1fs after a failed save", now.Sub(us.failedSave).Seconds())
		}
		us.rec.event(e)
		us.signedOut()
		return
	case who != us.name:
		us.wrong(op, "%s sees the page of %q", us.name, who)
		us.closeBrowser()
		return
	case !us.signedIn:
		us.wrong(op, "%s is signed in without an acknowledged sign-in", us.name)
		us.closeBrowser()
		return
	}
	v, err := strconv.ParseInt(visits, 10, 64)
	switch {
	case err != nil:
		us.wrong(op, "%s: visits %q", us.name, visits)
	case v < us.acked:
		us.rec.event(Event{At: us.now(), Kind: Lost, Saves: us.acked - v,
			What: fmt.Sprintf("%s: %d visits, %d acknowledged", us.name, v, us.acked)})
		us.acked, us.pending = v, 0
	case v > us.acked+us.pending:
		us.wrong(op, "%s: %d visits, at most %d sent", us.name, v, us.acked+us.pending)
		us.acked, us.pending = v, 0
	default:
		us.acked, us.pending = v, 0
	}
}

// logout logs out. In cookie mode it is the example's logout: the cookies
// from before it are kept, to be replayed later; if it fails, the user is
// signed in or out, as the next page tells. In server mode the user closes
// the browser.
func (us *user) logout(ctx context.Context) {
	if us.mode == ServerMode {
		us.closeBrowser()
		return
	}
	before := copyCookies(us.c.Jar.Cookies(us.u))
	if us.post(ctx, "/logout", nil, "logout").class != OK {
		us.unsure = true
		return
	}
	us.signedOut()
	us.revoked = append(us.revoked, before)
	if len(us.revoked) > keptRevoked {
		us.revoked = us.revoked[1:]
	}
}

// replayOne replays one of the kept logged-out cookie sets, if any.
func (us *user) replayOne(ctx context.Context) bool {
	if len(us.revoked) == 0 {
		return false
	}
	us.replay(ctx, us.rng.IntN(len(us.revoked)), "replay")
	return true
}

// replay sends logged-out cookie set i from another client (an attacker
// holding a copy) and checks that it gets the login form. A set that opens
// the session again is a logout lost; it is then dropped.
func (us *user) replay(ctx context.Context, i int, op string) {
	a := us.do(ctx, us.client(nil), "/", nil, us.revoked[i], op, http.StatusOK)
	if a.class != OK {
		return
	}
	if who := Field(a.body, "user"); who != "" {
		us.rec.event(Event{At: us.now(), Kind: Lost, Saves: 1,
			What: fmt.Sprintf("a copy of %s's cookies from before an acknowledged logout opens the session again", us.name)})
		us.revoked = append(us.revoked[:i], us.revoked[i+1:]...)
	}
}

// final is the check at the end of a run, after the faults: the page, and
// every kept logged-out cookie set.
func (us *user) final(ctx context.Context) {
	if us.signedIn || us.unsure {
		us.page(ctx, "final")
	}
	for i := len(us.revoked) - 1; i >= 0; i-- {
		us.replay(ctx, i, "final")
	}
}

func copyCookies(cs []*http.Cookie) []*http.Cookie {
	out := make([]*http.Cookie, len(cs))
	for i, c := range cs {
		out[i] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
	return out
}

var fieldRE = regexp.MustCompile(`id="([a-z-]+)">([^<]*)<`)

// Field returns the text of the example page's element with the given id
// (user, visits, ...), unescaped; "" when the page has none, as the login
// form has no user.
func Field(body, id string) string {
	for _, m := range fieldRE.FindAllStringSubmatch(body, -1) {
		if m[1] == id {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}
