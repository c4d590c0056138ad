package conformance

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// cLimit is the sentence of core's Config that the cap rules test.
const cLimit = "A login (the save of a new session with a subject, one audience) beyond it ends the subject's sessions that expire soonest, or, with RefuseOverLimit, is refused with an error matching ErrSessionLimit."

// cLimitAtomic is the sentence of store.SessionLimiter that
// limit_concurrent tests.
const cLimitAtomic = "SessionLimiter is implemented by stores that cap the sessions of a subject atomically, so that two concurrent logins never leave more than the limit"

// The size of limit_concurrent: logins of one subject at once, under a cap.
const (
	concurrentLimit  = 3
	concurrentLogins = 24
)

func init() {
	storeRules = append(storeRules,
		&storeRule{name: "limit_end_oldest", contract: cLimit, index: true, run: func(c *storeCase) { ruleLimit(c, false) }},
		&storeRule{name: "limit_refuse", contract: cLimit, index: true, run: func(c *storeCase) { ruleLimit(c, true) }},
		&storeRule{name: "limit_concurrent", contract: cLimitAtomic, index: true, limiter: true, run: ruleLimitConcurrent},
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

// ruleLimitConcurrent logs one subject in from many browsers at once, with
// a cap that the store enforces itself: ending the oldest, exactly the cap
// is left; refusing, exactly the cap of logins succeed.
func ruleLimitConcurrent(c *storeCase) {
	for _, refuse := range []bool{false, true} {
		limitConcurrent(c, refuse)
	}
}

func limitConcurrent(c *storeCase, refuse bool) {
	mode := map[bool]string{false: "ending the oldest", true: "with RefuseOverLimit"}[refuse]
	m := c.manager(c.st, true, func(cfg *session.Config) {
		cfg.MaxSessionsPerSubject = concurrentLimit
		cfg.RefuseOverLimit = refuse
		// A login whose session a concurrent one ended before its remember
		// record was written logs a warning.
		cfg.Logger = slog.New(slog.DiscardHandler)
	})
	subject := "limit-concurrent-" + newKey()[:8]
	jars, errs := concurrentLoginsOf(m, subject, concurrentLogins)
	var saved []int
	for i, err := range errs {
		switch {
		case err == nil:
			saved = append(saved, i)
		case refuse && errors.Is(err, store.ErrSessionLimit):
		default:
			c.fatalf("%s: login %d of %d at once: %v", mode, i, concurrentLogins, err)
		}
	}
	if refuse && len(saved) != concurrentLimit {
		c.fatalf("%s: %d of %d concurrent logins under a cap of %d succeeded; want exactly %d, the others refused with an error matching ErrSessionLimit",
			mode, len(saved), concurrentLogins, concurrentLimit, concurrentLimit)
	}
	open := 0
	for _, i := range saved {
		_, err := c.open(m, jars[i])
		switch {
		case err == nil:
			open++
		case refuse || !errors.Is(err, session.ErrNotFound):
			c.fatalf("%s: opening login %d after %d concurrent logins: %v", mode, i, concurrentLogins, err)
		}
	}
	if open != concurrentLimit {
		c.fatalf("%s: %d of %d saved logins open after %d concurrent logins under a cap of %d; want exactly %d",
			mode, open, len(saved), concurrentLogins, concurrentLimit, concurrentLimit)
	}
	entries, err := m.Sessions(c.ctx, subject)
	if err != nil {
		c.fatalf("%s: Sessions: %v", mode, err)
	}
	records := map[bool]int{}
	for _, e := range entries {
		records[e.Remember]++
	}
	if records[false] != concurrentLimit || records[true] != concurrentLimit {
		c.fatalf("%s: after %d concurrent logins under a cap of %d the subject index lists %d session and %d remember records; want %d of each",
			mode, concurrentLogins, concurrentLimit, records[false], records[true], concurrentLimit)
	}
	if _, ok := c.st.(store.GroupInfoReader); ok {
		ds, err := m.Devices(c.ctx, subject)
		if err != nil || len(ds) != concurrentLimit {
			c.fatalf("%s: Devices after %d concurrent logins = %d devices, %v; want %d", mode, concurrentLogins, len(ds), err, concurrentLimit)
		}
	}
}

// concurrentLoginsOf saves n new sessions of subject at once, each from a
// browser of its own, and returns each browser's cookies and the error of
// its save. The goroutines wait on one start barrier; they call nothing of
// testing.T.
func concurrentLoginsOf(m *session.Manager, subject string, n int) ([]storeJar, []error) {
	jars, errs := make([]storeJar, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			jars[i], errs[i] = loginJar(m, subject)
		}()
	}
	close(start)
	wg.Wait()
	return jars, errs
}

// loginJar is storeCase.login without a testing.T, for other goroutines:
// a response's malformed Set-Cookie line is its error.
func loginJar(m *session.Manager, subject string) (storeJar, error) {
	w := httptest.NewRecorder()
	s := newSession(m, w, httptest.NewRequest(http.MethodPost, "http://example.com/login", nil))
	s.SetSubject(subject)
	s.Set("user", subject)
	err := s.Save()
	j := storeJar{}
	for _, line := range w.Result().Header.Values("Set-Cookie") {
		ck, perr := http.ParseSetCookie(line)
		if perr != nil {
			return j, fmt.Errorf("the session library sent a bad Set-Cookie line %q: %w", line, perr)
		}
		if ck.MaxAge >= 0 {
			j[ck.Name] = ck.Value
		}
	}
	return j, err
}
