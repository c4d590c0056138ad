package conformance

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
)

// The behaviours of the adapter suite, one subtest each. Failure messages
// say which rule the adapter breaks.

type behaviour struct {
	name string
	run  func(s *suite)
}

var adapterBehaviours = []behaviour{
	{"NewSession", testNewSession},
	{"SaveAndOpen", testSaveAndOpen},
	{"Touch", testTouch},
	{"RefreshSaves", testRefreshSaves},
	{"OpenOnly", testOpenOnly},
	{"IdleExpiry", testIdleExpiry},
	{"SaveAfterBody", testSaveAfterBody},
	{"LateSave", testLateSave},
	{"LogoutOneAudience", testLogoutOneAudience},
	{"Destroy", testDestroy},
	{"RememberRestore", testRememberRestore},
	{"ChunkedCookies", testChunkedCookies},
	{"ClearRequestCookie", testClearRequestCookie},
	{"Headers", testHeaders},
	{"TamperedCookie", testTamperedCookie},
	{"ConcurrentRequests", testConcurrent},
	{"StoreErrorHidden", testStoreErrorHidden},
	{"ServiceContext", testServiceContext},
}

// A request without cookies gets a new, empty session from the accessor,
// and no cookie is set for it.
func testNewSession(s *suite) {
	c := s.start()
	st, resp := c.get("/a/state")
	if st.Exists || st.ID != "" || len(st.Data) != 0 {
		s.t.Errorf("a request without cookies: exists=%v id=%q data=%v, want a new, empty session", st.Exists, st.ID, st.Data)
	}
	if lines := resp.Header.Values("Set-Cookie"); len(lines) != 0 {
		s.t.Errorf("a new session that was not saved set cookies: %q", lines)
	}
}

// A save sends the session cookie, formatted by core; the next request
// opens the session with its data and subject and the same id.
func testSaveAndOpen(s *suite) {
	c := s.start()
	saved, resp := c.get("/a/save", "user", "alice", "subject", "u1")
	if !saved.Exists || saved.ID == "" {
		s.t.Fatalf("after Save: exists=%v id=%q, want an existing session", saved.Exists, saved.ID)
	}
	if len(setCookies(resp, "session")) != 1 {
		s.t.Fatalf("Save sent %d session cookies, want 1: %q", len(setCookies(resp, "session")), resp.Header.Values("Set-Cookie"))
	}
	st, resp := c.get("/a/state")
	if !st.Exists || st.ID != saved.ID || st.Data["user"] != "alice" || st.Subject != "u1" {
		s.t.Errorf("next request: exists=%v id=%q data=%v subject=%q, want the saved session %q with user=alice, subject u1", st.Exists, st.ID, st.Data, st.Subject, saved.ID)
	}
	if lines := resp.Header.Values("Set-Cookie"); len(lines) != 0 {
		s.t.Errorf("opening a fresh session set cookies: %q (no refresh is due)", lines)
	}
}

// The default middleware starts the session: after the touch threshold
// (1m) it re-sends the cookie with the same id.
func testTouch(s *suite) {
	c := s.start()
	saved, _ := c.get("/a/save", "user", "alice")
	s.clock.Advance(2 * time.Minute)
	st, resp := c.get("/a/state")
	if len(setCookies(resp, "session")) != 1 {
		s.t.Fatalf("after 2m idle: %d session Set-Cookie lines, want 1 (a touch)", len(setCookies(resp, "session")))
	}
	if st.ID != saved.ID {
		s.t.Errorf("a touch changed the id: %q, want %q", st.ID, saved.ID)
	}
	s.clock.Advance(14 * time.Minute) // 14m since the touch: still within the 15m idling timeout
	if st, _ := c.get("/a/state"); !st.Exists {
		s.t.Errorf("the touch did not reset the idling timeout: the session expired")
	}
}

// When 3/4 of the rolling timeout (1h) has passed, the start saves the
// session: a new id, the same data.
func testRefreshSaves(s *suite) {
	c := s.start()
	saved, _ := c.get("/a/save", "user", "alice")
	for i := 1; i <= 4; i++ { // 40 minutes, touching every 10
		s.clock.Advance(10 * time.Minute)
		if st, _ := c.get("/a/state"); st.ID != saved.ID {
			s.t.Fatalf("after %dm: id changed before 3/4 of the rolling timeout", i*10)
		}
	}
	s.clock.Advance(6 * time.Minute) // 46m > 45m
	st, resp := c.get("/a/state")
	if len(setCookies(resp, "session")) != 1 || st.ID == saved.ID || st.ID == "" {
		s.t.Fatalf("after 46m: id %q (was %q), %d Set-Cookie lines: want a save with a new id", st.ID, saved.ID, len(setCookies(resp, "session")))
	}
	if st.Data["user"] != "alice" {
		s.t.Errorf("the refresh lost the data: %v", st.Data)
	}
	if st, _ := c.get("/a/state"); st.ID == saved.ID {
		s.t.Errorf("the client did not keep the refreshed cookie")
	}
}

// OpenOnly opens the session without refreshing it: no cookie is sent.
func testOpenOnly(s *suite) {
	c := s.start(mountSpec{prefix: "/a", opts: MiddlewareOptions{OpenOnly: true}})
	saved, _ := c.get("/a/save", "user", "alice")
	s.clock.Advance(2 * time.Minute)
	st, resp := c.get("/a/state")
	if !st.Exists || st.ID != saved.ID {
		s.t.Fatalf("OpenOnly: exists=%v id=%q, want the saved session", st.Exists, st.ID)
	}
	if lines := resp.Header.Values("Set-Cookie"); len(lines) != 0 {
		s.t.Errorf("OpenOnly refreshed the session: %q", lines)
	}
}

// A session idle for longer than the idling timeout (15m) is gone; the
// request goes on with a new session.
func testIdleExpiry(s *suite) {
	c := s.start()
	c.get("/a/save", "user", "alice")
	s.clock.Advance(16 * time.Minute)
	if st, _ := c.get("/a/state"); st.Exists || len(st.Data) != 0 {
		s.t.Errorf("after 16m idle: exists=%v data=%v, want a new session (idling timeout)", st.Exists, st.Data)
	}
}

// With AutoSave, a handler that changes the session and writes its body
// without saving still gets its cookie to the client: the middleware saves
// before the headers go out.
func testSaveAfterBody(s *suite) {
	c := s.start(mountSpec{prefix: "/a", opts: MiddlewareOptions{AutoSave: true}})
	_, resp := c.get("/a/change", "n", "1")
	if len(setCookies(resp, "session")) != 1 {
		s.t.Fatalf("a new session changed before the body: %d session Set-Cookie lines, want 1 (commit before the headers go out)", len(setCookies(resp, "session")))
	}
	st, _ := c.get("/a/state")
	if !st.Exists || st.Data["n"] != "1" {
		s.t.Fatalf("next request: exists=%v data=%v, want n=1", st.Exists, st.Data)
	}
	c.get("/a/change", "n", "2")
	if st2, _ := c.get("/a/state"); st2.Data["n"] != "2" || st2.ID == st.ID {
		s.t.Errorf("an existing session changed before the body: data=%v id=%q (was %q), want n=2 and a new id", st2.Data, st2.ID, st.ID)
	}
	// Nothing changed: nothing is saved.
	if _, resp := c.get("/a/state"); len(setCookies(resp, "session")) != 0 {
		s.t.Errorf("AutoSave saved an unchanged session: %q", resp.Header.Values("Set-Cookie"))
	}
}

// A Save after the handler wrote its body cannot be half-sent: the body
// arrives whole, there is at most one Set-Cookie per name, and the client
// keeps a session that opens (the earlier one, or the new one on
// frameworks that buffer the response).
func testLateSave(s *suite) {
	c := s.start()
	c.get("/a/save", "n", "1")
	_, resp := c.get("/a/late-save", "n", "2")
	body := readBody(resp)
	if !strings.HasPrefix(body, "body first\n{") {
		s.t.Fatalf("late save: body %q, want the first line and the report", body)
	}
	st, _ := c.get("/a/state")
	if !st.Exists || st.Data["n"] != "1" && st.Data["n"] != "2" {
		s.t.Errorf("after a late save: exists=%v data=%v, want a session with n=1 or n=2", st.Exists, st.Data)
	}
}

// Two apps (audiences) share one cookie; logging out of one keeps the
// other, and logging out of the last destroys the cookie.
func testLogoutOneAudience(s *suite) {
	c := s.start(
		mountSpec{prefix: "/a", cfg: session.Config{Audience: "a"}},
		mountSpec{prefix: "/b", cfg: session.Config{Audience: "b"}},
	)
	c.get("/a/save", "x", "1")
	c.get("/b/save", "y", "2")
	st, _ := c.get("/a/state")
	if !st.Exists || st.Data["x"] != "1" || !slices.Contains(st.Audiences, "a") || !slices.Contains(st.Audiences, "b") {
		s.t.Fatalf("audience a: exists=%v data=%v audiences=%v, want x=1 and audiences a and b in one cookie", st.Exists, st.Data, st.Audiences)
	}
	c.get("/b/logout")
	if st, _ := c.get("/b/state"); st.Exists {
		s.t.Errorf("after logout of b: b still exists")
	}
	if st, _ := c.get("/a/state"); !st.Exists || st.Data["x"] != "1" || slices.Contains(st.Audiences, "b") {
		s.t.Errorf("after logout of b: a exists=%v data=%v audiences=%v, want a kept without b", st.Exists, st.Data, st.Audiences)
	}
	if c.cookie("session") == "" {
		s.t.Fatalf("after logout of b: the session cookie is gone, want it kept for a")
	}
	c.get("/a/logout")
	if v := c.cookie("session"); v != "" {
		s.t.Errorf("after logout of the last audience: the client still has the session cookie")
	}
	if st, _ := c.get("/a/state"); st.Exists {
		s.t.Errorf("after logout of the last audience: a still exists")
	}
}

// Destroy deletes the session and remember cookies (and the store record:
// the old cookie no longer opens with a server-side store).
func testDestroy(s *suite) {
	c := s.start(mountSpec{prefix: "/a", cfg: session.Config{Remember: true, RememberSafety: "Low"}})
	c.get("/a/save", "user", "alice", "remember", "1")
	old := c.cookie("session")
	if old == "" || c.cookie("remember") == "" {
		s.t.Fatalf("after a save with remember: cookies %v, want session and remember", c.cookieNames())
	}
	c.get("/a/destroy")
	if names := c.cookieNames(); len(names) != 0 {
		s.t.Errorf("after Destroy the client still has cookies %v", names)
	}
	if st, _ := c.get("/a/state"); st.Exists {
		s.t.Errorf("after Destroy: the session still exists")
	}
	if s.store != nil {
		c.setCookie("session", old)
		if st, _ := c.get("/a/state"); st.Exists {
			s.t.Errorf("with a store, a destroyed session's cookie still opens")
		}
	}
}

// Remember-me: with the session cookie gone (or expired) the remember
// cookie restores the session; without remember it is gone.
func testRememberRestore(s *suite) {
	c := s.start(mountSpec{prefix: "/a", cfg: session.Config{Remember: true, RememberSafety: "Low"}})
	c.get("/a/save", "user", "alice", "remember", "1")
	c.setCookie("session", "")
	st, resp := c.get("/a/state")
	if !st.Exists || st.Data["user"] != "alice" {
		s.t.Fatalf("without the session cookie: exists=%v data=%v, want the session restored from the remember cookie", st.Exists, st.Data)
	}
	if len(setCookies(resp, "session")) != 1 || len(setCookies(resp, "remember")) != 1 {
		s.t.Errorf("a restore must send a new session and remember cookie, got %q", resp.Header.Values("Set-Cookie"))
	}
	s.clock.Advance(20 * time.Minute) // the session cookie's idling timeout
	if st, _ := c.get("/a/state"); !st.Exists || st.Data["user"] != "alice" {
		s.t.Errorf("after the session expired: exists=%v data=%v, want it restored from the remember cookie", st.Exists, st.Data)
	}

	forget := s.newClient(s.base)
	forget.get("/a/save", "user", "bob", "remember", "0")
	if forget.cookie("remember") != "" {
		s.t.Errorf("remember=0: a remember cookie was issued")
	}
	forget.setCookie("session", "")
	if st, _ := forget.get("/a/state"); st.Exists {
		s.t.Errorf("remember=0: the session came back without its cookie")
	}
}

// A session too large for one cookie is split in chunks (cookie storage),
// read back whole, and the surplus chunks are deleted when it shrinks.
// With a store the cookie holds only the header.
func testChunkedCookies(s *suite) {
	c := s.start(mountSpec{prefix: "/a", cfg: session.Config{CompressionThreshold: -1}})
	const n = 10000
	_, resp := c.get("/a/big", "n", strconv.Itoa(n))
	want := []string{"session", "session2", "session3", "session4"}
	if s.store != nil {
		want = want[:1]
	}
	for _, name := range want {
		if len(setCookies(resp, name)) != 1 {
			s.t.Fatalf("a %d-byte session: no Set-Cookie for %s, want %d cookies", n, name, len(want))
		}
	}
	if extra := setCookies(resp, "session"+strconv.Itoa(len(want)+1)); len(extra) != 0 {
		s.t.Fatalf("a %d-byte session: more cookies than the %d it needs", n, len(want))
	}
	st, _ := c.get("/a/state")
	if big, _ := st.Data["big"].(string); big != incompressible(n) {
		s.t.Fatalf("the chunked session did not read back whole (got %d bytes, want %d)", len(big), n)
	}
	c.get("/a/save", "del", "big", "small", "1")
	if names := c.cookieNames(); !slices.Equal(names, []string{"session"}) {
		s.t.Errorf("after the session shrank the client has cookies %v, want only session (surplus chunks deleted)", names)
	}
	if st, _ := c.get("/a/state"); st.Data["small"] != "1" || st.Data["big"] != nil {
		s.t.Errorf("after the session shrank: data %v", st.Data)
	}
}

// ClearRequestCookie: the handler after the middleware sees the request
// without the session and remember cookies, other cookies kept, while the
// session itself is open.
func testClearRequestCookie(s *suite) {
	c := s.start(mountSpec{prefix: "/a", cfg: session.Config{Remember: true, RememberSafety: "Low"}, opts: MiddlewareOptions{ClearRequestCookie: true}})
	c.setCookie("other", "1")
	c.get("/a/save", "user", "alice", "remember", "1")
	st, _ := c.get("/a/state")
	if !st.Exists || st.Data["user"] != "alice" {
		s.t.Fatalf("ClearRequestCookie: exists=%v data=%v, want the session open", st.Exists, st.Data)
	}
	if got := cookiePairs(st.Cookie); !slices.Equal(got, []string{"other=1"}) {
		s.t.Errorf("the handler saw Cookie %q, want only %q (session and remember cookies removed)", st.Cookie, "other=1")
	}
	c.setCookie("other", "")
	if st, _ := c.get("/a/state"); st.Cookie != "" {
		s.t.Errorf("with only session cookies, the handler saw Cookie %q, want no Cookie header", st.Cookie)
	}
}

// Request headers (for the handler) and response headers (for the client)
// carry the session's properties; the response's reflect a save the
// handler made.
func testHeaders(s *suite) {
	c := s.start(mountSpec{prefix: "/a", cfg: session.Config{
		RequestHeaders:  []session.Property{session.PropertyID, session.PropertyAudience, session.PropertySubject},
		ResponseHeaders: []session.Property{session.PropertyID, session.PropertySubject, session.PropertyTimeout},
	}, opts: MiddlewareOptions{SetHeaders: true}})
	st, resp := c.get("/a/state")
	if len(st.Headers) != 0 || resp.Header.Get("Session-Id") != "" {
		s.t.Errorf("without a session: request headers %v, response Session-Id %q, want none", st.Headers, resp.Header.Get("Session-Id"))
	}
	saved, resp := c.get("/a/save", "subject", "u1")
	if got := resp.Header.Get("Session-Id"); got != saved.ID {
		s.t.Errorf("response Session-Id %q after a save in the handler, want the new id %q", got, saved.ID)
	}
	st, resp = c.get("/a/state")
	want := map[string]string{"Session-Id": saved.ID, "Session-Audience": "default", "Session-Subject": "u1"}
	for k, v := range want {
		if st.Headers[k] != v {
			s.t.Errorf("request header %s = %q, want %q", k, st.Headers[k], v)
		}
	}
	if got := resp.Header.Get("Session-Id"); got != saved.ID {
		s.t.Errorf("response Session-Id %q, want %q", got, saved.ID)
	}
	if got := resp.Header.Get("Session-Subject"); got != "u1" {
		s.t.Errorf("response Session-Subject %q, want u1", got)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Session-Timeout")); err != nil || secs <= 0 || secs > 900 {
		s.t.Errorf("response Session-Timeout %q, want seconds in (0, 900]", resp.Header.Get("Session-Timeout"))
	}
	if resp.Header.Get("Session-Audience") != "" {
		s.t.Errorf("response Session-Audience set, but it is not configured")
	}
}

// A tampered or garbage cookie is an ordinary new session: status 200, not
// an error page.
func testTamperedCookie(s *suite) {
	c := s.start()
	c.get("/a/save", "user", "alice")
	v := c.cookie("session")
	for _, tc := range []struct{ name, value string }{
		{"one character changed", flip(v, 60)},
		{"payload character changed", flip(v, len(v)-5)},
		{"truncated", v[:len(v)-10]},
		{"garbage", "garbage"},
	} {
		c.setCookie("session", tc.value)
		if st, _ := c.get("/a/state"); st.Exists || len(st.Data) != 0 {
			s.t.Errorf("%s cookie: exists=%v data=%v, want a new session", tc.name, st.Exists, st.Data)
		}
	}
}

// newMemoryStore returns a memory store for a rule that needs one of its
// own, stopped when the test ends.
func newMemoryStore(t testing.TB) *session.MemoryStore {
	t.Helper()
	st, err := session.NewMemoryStore()
	if err != nil {
		t.Fatalf("conformance: session.NewMemoryStore: %v", err)
	}
	t.Cleanup(st.Stop)
	return st
}

// storeFailure is the text of the store error in testStoreErrorHidden, as a
// real store's would name its host.
const storeFailure = "dial tcp: lookup sessions-db.internal.example: no such host"

// A store failure reaches the adapter's default error handler: the client
// gets an error status with a generic body, never the store's error text
// (host names, addresses), which only the server's log gets. The adapter's
// test should serve with its framework's debug mode on, where one exists.
func testStoreErrorHidden(s *suite) {
	faulty := NewFaultyStore(newMemoryStore(s.t))
	s.store = faulty
	c := s.start(
		mountSpec{prefix: "/a"},
		mountSpec{prefix: "/auto", opts: MiddlewareOptions{AutoSave: true}},
	)
	c.get("/a/save", "user", "alice")
	faulty.FailAll(errors.New(storeFailure))

	// Opening the session fails: the handler does not run.
	status, body := c.raw("/a/state")
	if status < 500 {
		s.t.Errorf("store down while opening: status %d, want an error status (5xx)", status)
	}
	if strings.Contains(body, "internal.example") || strings.Contains(body, "dial tcp") {
		s.t.Errorf("store down while opening: the response body shows the store's error: %q", body)
	}
	// The auto-save fails after the handler (a new client: nothing to open).
	fresh := s.newClient(s.base)
	_, body = fresh.raw("/auto/change", "x", "1")
	if strings.Contains(body, "internal.example") || strings.Contains(body, "dial tcp") {
		s.t.Errorf("auto-save failed: the response body shows the store's error: %q", body)
	}
}

// Service code that takes only the request's context.Context (the one the
// framework hands the handler: Request.Context) reaches the request's
// session with session.FromContext: the very session the adapter's
// accessor returns, new or opened, with what was set at login.
func testServiceContext(s *suite) {
	c := s.start()
	check := func(when, wantGreeting string) {
		s.t.Helper()
		st, _ := c.get("/a/service")
		switch st.Context {
		case "same":
		case "none":
			s.t.Fatalf("%s: session.FromContext of the handler's context returned nil: the middleware must store the session in the request's context (session.NewContext), where service code finds it", when)
		default:
			s.t.Fatalf("%s: session.FromContext of the handler's context returned a session other than the accessor's: both must return the request's one session", when)
		}
		if st.Greeting != wantGreeting {
			s.t.Errorf("%s: service code read %q through session.FromContext, want %q", when, st.Greeting, wantGreeting)
		}
	}
	check("a new session", "hello, stranger")
	c.get("/a/save", "subject", "alice")
	check("after login", "hello, alice")
}

func flip(v string, i int) string {
	c := byte('A')
	if v[i] == 'A' {
		c = 'B'
	}
	return v[:i] + string(c) + v[i+1:]
}

// Concurrent requests with one cookie all see the same session, and
// concurrent saves each get their own new id.
func testConcurrent(s *suite) {
	c := s.start()
	saved, _ := c.get("/a/save", "user", "alice")
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan string, workers*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				st, resp := c.get("/a/state")
				if !st.Exists || st.ID != saved.ID || st.Data["user"] != "alice" {
					errs <- fmt.Sprintf("worker %d: exists=%v id=%q data=%v", w, st.Exists, st.ID, st.Data)
				}
				if lines := resp.Header.Values("Set-Cookie"); len(lines) != 0 {
					errs <- fmt.Sprintf("worker %d: unexpected Set-Cookie %q", w, lines)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		s.t.Errorf("concurrent reads with one cookie: %s", e)
	}

	ids := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := c.get("/a/save", "n", strconv.Itoa(w))
			ids <- st.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if id == "" || seen[id] || id == saved.ID {
			s.t.Errorf("concurrent saves: id %q repeated or empty (each save gets a new id)", id)
		}
		seen[id] = true
	}
	if st, _ := c.get("/a/state"); !st.Exists || st.Data["user"] != "alice" {
		s.t.Errorf("after concurrent saves: exists=%v data=%v", st.Exists, st.Data)
	}
}

func readBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// cookiePairs splits a Cookie header into its non-empty "name=value" pairs.
func cookiePairs(h string) []string {
	var out []string
	for _, p := range strings.Split(h, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
