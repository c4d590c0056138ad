package conformance

import (
	"errors"
	"net/http"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// cRevocation is the promise the revocation rules test, end to end through
// the session library: what Set and Delete must do so that it holds.
const cRevocation = cGroupDelete + " " + cOldKeyMissing

func init() {
	storeRules = append(storeRules,
		&storeRule{name: "revocation_destroy_stale_cookie", contract: cRevocation, run: ruleDestroyStaleCookie},
		&storeRule{name: "revocation_revoke_stale_cookie", contract: cRevocation, index: true, run: ruleRevokeStaleCookie},
		&storeRule{name: "revocation_logout_audience", contract: cRevocation, run: ruleLogoutAudience},
		&storeRule{name: "revocation_request_in_flight", contract: cRevocation, run: ruleRequestInFlight},
		&storeRule{name: "revocation_one_browser", contract: cGroups, index: true, run: ruleRevokeOneBrowser},
		&storeRule{name: "stale_cookie_grace", contract: cStale, run: ruleStaleCookieGrace},
	)
}

// revocationStaleTTL is long enough that no rule below waits for it: a
// stale cookie is always tried well within it, on any server clock.
const revocationStaleTTL = 30 * time.Second

func longStale(cfg *session.Config) { cfg.StaleTTL = revocationStaleTTL }

// refresh lets 50 minutes of the one-hour rolling timeout pass and starts
// the session, which saves it under a new id. It returns the jar before the
// refresh; j holds the refreshed cookies.
func (c *storeCase) refresh(m *session.Manager, j storeJar) storeJar {
	c.t.Helper()
	before := j.clone()
	c.skip(50 * time.Minute)
	var err error
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		_, err = startSession(m, w, r)
	})
	if err != nil || j[m.CookieName()] == before[m.CookieName()] {
		c.fatalf("Start 50 minutes into a one-hour rolling timeout: %v; want a new session cookie", err)
	}
	return before
}

// wantAllGone checks that neither the jar nor its session cookie alone
// opens, right away (within the stale TTL).
func (c *storeCase) wantAllGone(m *session.Manager, j storeJar, why string) {
	c.t.Helper()
	c.wantGone(m, j.only(m.CookieName()), why+": the session cookie alone")
	c.wantGone(m, j, why+": the session and remember cookies (no restore)")
}

func ruleDestroyStaleCookie(c *storeCase) {
	m := c.manager(c.st, false, longStale)
	j, err := c.login(m, "alice")
	if err != nil {
		c.fatalf("Save: %v", err)
	}
	stale := c.refresh(m, j)
	c.wantOpen(m, stale.only(m.CookieName()), "the replaced cookie within the stale TTL")
	current := j.clone()
	j.serve(c, func(w http.ResponseWriter, r *http.Request) { err = destroySession(m, w, r) })
	if err != nil {
		c.fatalf("Destroy: %v", err)
	}
	c.wantAllGone(m, current, "the destroyed cookie")
	c.wantAllGone(m, stale, "the cookie the destroyed one replaced, within its stale TTL")
}

func ruleRevokeStaleCookie(c *storeCase) {
	m := c.manager(c.st, true, longStale)
	j, err := c.login(m, "alice")
	if err != nil {
		c.fatalf("Save: %v", err)
	}
	stale := c.refresh(m, j)
	if _, err := m.RevokeSessions(c.ctx, "alice"); err != nil {
		c.fatalf("RevokeSessions: %v", err)
	}
	c.wantAllGone(m, j, "a revoked session's current cookie")
	c.wantAllGone(m, stale, "a revoked session's replaced cookie, within its stale TTL")
	if entries, err := m.Sessions(c.ctx, "alice"); err != nil || len(entries) != 0 {
		c.fatalf("Sessions after RevokeSessions = %v, %v; want none", entries, err)
	}
}

func ruleLogoutAudience(c *storeCase) {
	a := c.manager(c.st, false, longStale, func(cfg *session.Config) { cfg.Audience = "app-a" })
	b := c.manager(c.st, false, longStale, func(cfg *session.Config) { cfg.Audience = "app-b" })
	j, err := c.login(a, "alice")
	if err != nil {
		c.fatalf("Save in audience app-a: %v", err)
	}
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s, oerr := b.Open(w, r) // app-b is missing from the cookie: a new session, which joins it
		if oerr != nil {
			err = oerr
			return
		}
		s.SetSubject("alice")
		s.Set("user", "alice in b")
		err = s.Save()
	})
	if err != nil {
		c.fatalf("Save in audience app-b: %v", err)
	}
	both := j.clone()
	c.wantOpen(b, both, "the cookie with both audiences, in app-b")
	j.serve(c, func(w http.ResponseWriter, r *http.Request) { err = logoutSession(b, w, r) })
	if err != nil {
		c.fatalf("Logout of app-b: %v", err)
	}
	if _, err := c.open(b, j); err == nil {
		c.fatalf("app-b opens the cookie it logged out of")
	}
	c.wantOpen(a, j, "app-a after the logout of app-b")
	c.wantGone(b, both.only(b.CookieName()), "the cookie from before the logout of app-b, in app-b (its record must not stay readable)")
}

func ruleRequestInFlight(c *storeCase) {
	_, index := c.st.(store.SubjectIndex)
	index = index && !c.opts.SkipIndex
	m := c.manager(c.st, index, longStale)
	j, err := c.login(m, "alice")
	if err != nil {
		c.fatalf("Save: %v", err)
	}
	end := func() {
		if index {
			if _, err := m.RevokeSessions(c.ctx, "alice"); err != nil {
				c.fatalf("RevokeSessions: %v", err)
			}
			return
		}
		j.clone().serve(c, func(w http.ResponseWriter, r *http.Request) { err = destroySession(m, w, r) })
		if err != nil {
			c.fatalf("Destroy: %v", err)
		}
	}
	// A request opens the session, another ends it, then the first saves.
	var saveErr, infoErr error
	after := j.clone()
	after.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s, err := openSession(m, w, r)
		if err != nil {
			c.fatalf("Open: %v", err)
		}
		end()
		s.Info().Set("seen", "yes")
		infoErr = s.Info().Save()
		s.Set("n", 2)
		saveErr = s.Save()
	})
	if !errors.Is(infoErr, session.ErrNotFound) {
		c.fatalf("Info().Save of a session ended while the request ran = %v, want an error matching session.ErrNotFound", infoErr)
	}
	if !errors.Is(saveErr, session.ErrNotFound) {
		c.fatalf("Save of a session ended while the request ran = %v, want an error matching session.ErrNotFound", saveErr)
	}
	c.wantAllGone(m, j, "the ended session's cookie after a request in flight tried to save it")
	c.wantAllGone(m, after, "what the request in flight sent back")
}

func ruleRevokeOneBrowser(c *storeCase) {
	m := c.manager(c.st, true, longStale)
	phone, err := c.login(m, "alice")
	if err != nil {
		c.fatalf("Save: %v", err)
	}
	laptop, err := c.login(m, "alice")
	if err != nil {
		c.fatalf("Save: %v", err)
	}
	entries, err := m.Sessions(c.ctx, "alice")
	if err != nil || len(entries) != 4 {
		c.fatalf("Sessions = %v, %v; want 4 records (2 browsers, each a session and a remember record)", entries, err)
	}
	remembers := 0
	for _, e := range entries {
		if e.Remember {
			remembers++
		}
	}
	if remembers != 2 {
		c.fatalf("Sessions = %v: %d entries marked Remember, want 2", entries, remembers)
	}
	s := c.wantOpen(m, phone, "the phone's session")
	h, _ := s.Header()
	key, err := m.StorageKey(h.SessionID)
	if err != nil {
		c.fatalf("StorageKey: %v", err)
	}
	if err := m.RevokeSession(c.ctx, "alice", key); err != nil {
		c.fatalf("RevokeSession of the phone's session record: %v", err)
	}
	c.wantGone(m, phone, "the phone's cookies after RevokeSession of its session record (the remember cookie must not restore it)")
	c.wantOpen(m, laptop, "the laptop's session after revoking the phone's")
	if entries, err := m.Sessions(c.ctx, "alice"); err != nil || len(entries) != 2 {
		c.fatalf("Sessions after RevokeSession = %v, %v; want the laptop's 2 records", entries, err)
	}
}

func ruleStaleCookieGrace(c *storeCase) {
	m := c.manager(c.st, false, longStale)
	j, err := c.login(m, "alice")
	if err != nil {
		c.fatalf("Save: %v", err)
	}
	stale := c.refresh(m, j)
	// A second request that carried the same cookie, answered after the
	// first one saved: it opens and saves too.
	fork := stale.only(m.CookieName())
	fork.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s, err := openSession(m, w, r)
		if err != nil {
			c.fatalf("the replaced cookie within the stale TTL: open failed: %v", err)
		}
		s.Set("n", 2)
		if err := s.Save(); err != nil {
			c.fatalf("the replaced cookie within the stale TTL: Save failed: %v", err)
		}
	})
	c.wantOpen(m, fork, "the cookie saved from the replaced one")
	c.wantOpen(m, j, "the refreshed cookie after the other request saved")
}
