package conformance

import (
	"errors"
	"net/http"
	"time"

	session "github.com/sessiongo/session/core"
)

// cLimit is the sentence of core's Config that the cap rules test.
const cLimit = "A login (the save of a new session with a subject, one audience) beyond it ends the subject's sessions that expire soonest, or, with RefuseOverLimit, is refused with an error matching ErrSessionLimit."

func init() {
	storeRules = append(storeRules,
		&storeRule{name: "limit_end_oldest", contract: cLimit, index: true, run: func(c *storeCase) { ruleLimit(c, false) }},
		&storeRule{name: "limit_refuse", contract: cLimit, index: true, run: func(c *storeCase) { ruleLimit(c, true) }},
	)
}

func ruleLimit(c *storeCase, refuse bool) {
	m := c.manager(c.st, true, func(cfg *session.Config) {
		cfg.MaxSessionsPerSubject = 2
		cfg.RefuseOverLimit = refuse
	})
	subject := "limit-" + newKey()[:8]
	first, err := c.login(m, subject)
	if err != nil {
		c.fatalf("first login: %v", err)
	}
	c.later(2 * time.Second) // the first expires first, also on a server counting whole seconds
	second, err := c.login(m, subject)
	if err != nil {
		c.fatalf("second login: %v", err)
	}
	other, err := c.login(m, "other-"+subject)
	if err != nil {
		c.fatalf("another subject's login: %v", err)
	}
	c.skip(2 * time.Second)
	third := storeJar{}
	third.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s := newSession(m, w, r)
		s.SetSubject(subject)
		err = s.Save()
	})
	entries, lerr := m.Sessions(c.ctx, subject)
	if lerr != nil {
		c.fatalf("Sessions: %v", lerr)
	}
	if len(entries) != 4 {
		c.fatalf("the subject has %d index entries after a third login with a cap of 2; want 4 (two browsers, each with a session and a remember record)", len(entries))
	}
	if refuse {
		if !errors.Is(err, session.ErrSessionLimit) {
			c.fatalf("a third login with RefuseOverLimit: %v; want an error matching ErrSessionLimit", err)
		}
		for _, j := range []storeJar{first, second} {
			if _, err := c.open(m, j); err != nil {
				c.fatalf("a session after a refused login: %v", err)
			}
		}
	} else {
		if err != nil {
			c.fatalf("a third login: %v", err)
		}
		if _, err := c.open(m, first); !errors.Is(err, session.ErrNotFound) {
			c.fatalf("the oldest session after a third login: %v; want ErrNotFound", err)
		}
		if _, err := c.open(m, first.only(m.RememberCookieName())); !errors.Is(err, session.ErrNotFound) {
			c.fatalf("the oldest session's remember cookie after a third login: %v; want ErrNotFound", err)
		}
		for _, j := range []storeJar{second, third} {
			if _, err := c.open(m, j); err != nil {
				c.fatalf("a newer session after a third login: %v", err)
			}
		}
	}
	if _, err := c.open(m, other); err != nil {
		c.fatalf("another subject's session after a third login: %v", err)
	}
}
