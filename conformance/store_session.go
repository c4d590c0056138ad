package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// storeSecret keys the sessions that TestStore drives through the library.
const storeSecret = "sessiongo conformance store suite"

// headerSize is the length of a session cookie with a server-side store:
// the base64url header alone.
const headerSize = 110

// storeJar is a browser's cookie store, as far as TestStore needs one.
type storeJar map[string]string

func (j storeJar) clone() storeJar {
	c := storeJar{}
	for k, v := range j {
		c[k] = v
	}
	return c
}

// only returns a jar with the named cookie alone.
func (j storeJar) only(name string) storeJar { return storeJar{name: j[name]} }

func (j storeJar) header() string {
	names := make([]string, 0, len(j))
	for n := range j {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + j[n]
	}
	return strings.Join(parts, "; ")
}

// serve runs h on a request that carries the jar's cookies and keeps the
// response's cookies; it returns the response's Set-Cookie lines.
func (j storeJar) serve(c *storeCase, h func(w http.ResponseWriter, r *http.Request)) []string {
	c.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	if cookies := j.header(); cookies != "" {
		r.Header.Set("Cookie", cookies)
	}
	w := httptest.NewRecorder()
	h(w, r)
	lines := w.Result().Header.Values("Set-Cookie")
	for _, line := range lines {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			c.fatalf("the session library sent a bad Set-Cookie line %q: %v", line, err)
		}
		if ck.MaxAge < 0 {
			delete(j, ck.Name)
		} else {
			j[ck.Name] = ck.Value
		}
	}
	return lines
}

// manager returns a session library Manager that keeps its data in store,
// on the case's clock; mutate, when given, changes the configuration.
func (c *storeCase) manager(st session.Store, index bool, mutate ...func(*session.Config)) *session.Manager {
	c.t.Helper()
	cfg := session.Config{
		Secret:         storeSecret,
		Store:          st,
		Clock:          c.libraryClock,
		Remember:       true,
		RememberSafety: "None",
		StaleTTL:       shortTTL,
		IdlingTimeout:  session.Disabled,
		StoreMetadata:  index,
	}
	for _, f := range mutate {
		f(&cfg)
	}
	m, err := session.New(cfg)
	if err != nil {
		c.t.Fatalf("session.New: %v", err)
	}
	return m
}

// login saves a new session of subject and returns the browser's jar.
func (c *storeCase) login(m *session.Manager, subject string) (storeJar, error) {
	c.t.Helper()
	j := storeJar{}
	var err error
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s := newSession(m, w, r)
		s.SetSubject(subject)
		s.Set("user", subject)
		err = s.Save()
	})
	return j, err
}

// open opens the jar's session (without keeping the response's cookies)
// and returns it with the error.
func (c *storeCase) open(m *session.Manager, j storeJar) (*session.Session, error) {
	c.t.Helper()
	var s *session.Session
	var err error
	j.clone().serve(c, func(w http.ResponseWriter, r *http.Request) { s, err = openSession(m, w, r) })
	return s, err
}

func (c *storeCase) wantOpen(m *session.Manager, j storeJar, why string) *session.Session {
	c.t.Helper()
	s, err := c.open(m, j)
	if err != nil {
		c.fatalf("%s: open failed: %v", why, err)
	}
	return s
}

func (c *storeCase) wantGone(m *session.Manager, j storeJar, why string) {
	c.t.Helper()
	if _, err := c.open(m, j); !errors.Is(err, session.ErrNotFound) {
		c.fatalf("%s: open = %v, want an error matching session.ErrNotFound (the record must be gone)", why, err)
	}
}

func ruleErrorsSurfaced(c *storeCase) {
	fs := NewFaultyStore(c.st)
	_, index := c.st.(store.SubjectIndex)
	index = index && !c.opts.SkipIndex
	m := c.manager(fs, index)
	fault := errors.New("conformance: injected store fault")
	check := func(what string, err error) {
		c.t.Helper()
		if !errors.Is(err, session.ErrStore) || !errors.Is(err, fault) {
			c.fatalf("%s with a failing store: %v, want an error matching session.ErrStore and the store's error", what, err)
		}
		if errors.Is(err, session.ErrNotFound) {
			c.fatalf("%s with a failing store: %v matches session.ErrNotFound; a store failure is not a missing session", what, err)
		}
	}

	fs.Fail(OpSet, fault)
	_, err := c.login(m, "alice")
	check("Save", err)
	fs.Reset()
	j, err := c.login(m, "alice")
	if err != nil {
		c.fatalf("Save: %v", err)
	}

	fs.Fail(OpGet, fault)
	_, err = c.open(m, j.only(m.CookieName()))
	check("Open", err)
	fs.Reset()

	s := c.wantOpen(m, j, "with the store back")
	fs.Fail(OpSet, fault)
	s.Info().Set("k", "v")
	check("Info().Save", s.Info().Save())
	fs.Reset()

	fs.Fail(OpDelete, fault)
	j.clone().serve(c, func(w http.ResponseWriter, r *http.Request) {
		err = destroySession(m, w, r)
	})
	check("Destroy", err)
	fs.Reset()

	if index {
		fs.Fail(OpSessions, fault)
		_, err = m.Sessions(c.ctx, "alice")
		check("Manager.Sessions", err)
		_, err = m.RevokeSessions(c.ctx, "alice")
		check("Manager.RevokeSessions", err)
		fs.Reset()
	}
	if fs.Calls(OpGet) == 0 || fs.Calls(OpSet) == 0 || fs.Calls(OpDelete) == 0 {
		c.t.Fatal("conformance: the faulty store was not called")
	}
}

func ruleLifeCycle(c *storeCase) {
	_, index := c.st.(store.SubjectIndex)
	index = index && !c.opts.SkipIndex
	m := c.manager(c.st, index)
	ctx := c.ctx

	// Save: the cookie holds the header only.
	j, err := c.login(m, "alice")
	if err != nil {
		c.fatalf("Save of a new session: %v", err)
	}
	if v := j[m.CookieName()]; len(v) != headerSize {
		c.fatalf("session cookie after Save is %d characters, want the %d-character header only", len(v), headerSize)
	}
	if _, ok := j[m.RememberCookieName()]; !ok {
		c.fatalf("no remember cookie after Save with Remember on")
	}

	// Open through a cookie round trip.
	s := c.wantOpen(m, j, "a saved session")
	if got := s.Get("user"); got != "alice" {
		c.fatalf("data after open = %v, want alice", got)
	}

	// Info().Save rewrites the record without a new cookie.
	var lines []string
	lines = j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s, err := openSession(m, w, r)
		if err != nil {
			c.fatalf("open: %v", err)
		}
		s.Info().Set("seen", "yes")
		if err := s.Info().Save(); err != nil {
			c.fatalf("Info().Save: %v", err)
		}
	})
	if len(lines) != 0 {
		c.fatalf("Info().Save sent cookies %q, want none", lines)
	}
	s = c.wantOpen(m, j, "after Info().Save")
	if got := s.Info().Get("seen"); got != "yes" {
		c.fatalf("info after Info().Save = %v, want yes", got)
	}
	if got := s.Get("user"); got != "alice" {
		c.fatalf("data after Info().Save = %v, want alice", got)
	}

	// Refresh past 3/4 of the rolling timeout saves under a new key; the
	// old cookie keeps working for the stale TTL, then fails.
	old := j.only(m.CookieName())
	c.skip(50 * time.Minute)
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		_, err = startSession(m, w, r)
	})
	if err != nil {
		c.fatalf("Start 50 minutes in: %v", err)
	}
	if j[m.CookieName()] == old[m.CookieName()] {
		c.fatalf("Refresh 50 minutes into a one-hour rolling timeout sent no new cookie")
	}
	c.cite = cStale
	c.wantOpen(m, old, "the previous cookie right after a refresh (within the stale TTL)")
	s = c.wantOpen(m, j, "the refreshed cookie")
	if got := s.Info().Get("seen"); got != "yes" {
		c.fatalf("info after refresh = %v, want yes", got)
	}
	if index {
		c.cite = cIndexAdd
		entries, err := m.Sessions(ctx, "alice")
		if err != nil || len(entries) < 2 {
			c.fatalf("Manager.Sessions = %v, %v; want the session and remember records of alice", entries, err)
		}
	}
	c.cite = cStale
	c.expire(func() bool {
		_, err := c.open(m, old)
		return errors.Is(err, session.ErrNotFound)
	})
	c.wantGone(m, old, fmt.Sprintf("the previous cookie after the stale TTL (%v)", shortTTL))
	c.wantOpen(m, j, "the refreshed cookie after the stale TTL")

	c.cite = cDelete
	// Logout of the only audience destroys the session and its records.
	before := j.clone()
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		err = logoutSession(m, w, r)
	})
	if err != nil {
		c.fatalf("Logout: %v", err)
	}
	if len(j) != 0 {
		c.fatalf("cookies left after Logout: %v", j)
	}
	c.wantGone(m, before.only(m.CookieName()), "the session cookie after Logout")
	c.wantGone(m, before.only(m.RememberCookieName()), "the remember cookie after Logout")

	// Destroy.
	j, err = c.login(m, "bob")
	if err != nil {
		c.fatalf("Save: %v", err)
	}
	before = j.clone()
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		err = destroySession(m, w, r)
	})
	if err != nil {
		c.fatalf("Destroy: %v", err)
	}
	c.wantGone(m, before.only(m.CookieName()), "the session cookie after Destroy")
	c.wantGone(m, before.only(m.RememberCookieName()), "the remember cookie after Destroy")

	if !index {
		return
	}
	c.cite = cIndexList
	// Log out everywhere.
	var jars []storeJar
	for range 2 {
		j, err := c.login(m, "carol")
		if err != nil {
			c.fatalf("Save: %v", err)
		}
		jars = append(jars, j)
	}
	dave, err := c.login(m, "dave")
	if err != nil {
		c.fatalf("Save: %v", err)
	}
	entries, err := m.Sessions(ctx, "carol")
	if err != nil || len(entries) != 4 {
		c.fatalf("Manager.Sessions = %v, %v; want 4 records (2 sessions, each with a remember record)", entries, err)
	}
	n, err := m.RevokeSessions(ctx, "carol")
	if err != nil || n != 4 {
		c.fatalf("Manager.RevokeSessions = %d, %v; want 4", n, err)
	}
	for _, j := range jars {
		c.wantGone(m, j, "a revoked session")
	}
	if entries, err := m.Sessions(ctx, "carol"); err != nil || len(entries) != 0 {
		c.fatalf("Manager.Sessions after RevokeSessions = %v, %v; want none", entries, err)
	}
	c.wantOpen(m, dave, "another subject's session after RevokeSessions")
}
