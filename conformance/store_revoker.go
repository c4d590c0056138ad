package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
)

// The revocation backend rules run when the store implements store.Revoker
// (the revocation backend of cookie sessions, session.Config.Revocation);
// other stores skip them. They check the sentences of the Revoker contract
// (core/store/revocation.go), then drive cookie sessions through the
// library with the store as their backend.

// The sentences of the Revoker contract the rules test.
const (
	cRevRevoked    = "Revoked returns, for each key in keys and in the same order, the At of its live mark, or the zero Time when it has none."
	cRevOneTrip    = "Stores answer all keys in one round trip where the server allows it."
	cRevLater      = "When a key already has a live mark, the stored mark keeps the later of the two At values and the later of the two expiries: a revocation is never weakened or shortened by another."
	cRevTTL        = "TTL time.Duration // how long the mark must be kept, at least one second"
	cRevUnknown    = "An error means the answer is unknown (the caller applies its fail mode); it is never used to say \"not revoked\"."
	cRevConcurrent = "It must be safe for concurrent use."
	cRevBackend    = "Revoker is implemented by stores that can serve as the revocation backend of cookie sessions (Config.Revocation)."
)

func init() {
	storeRules = append(storeRules,
		&storeRule{name: "revoker_mark_lookup", contract: cRevRevoked, run: ruleRevokerMarkLookup},
		&storeRule{name: "revoker_many_keys", contract: cRevOneTrip + " " + cRevRevoked, run: ruleRevokerManyKeys},
		&storeRule{name: "revoker_apart_from_records", contract: cRevRevoked, run: ruleRevokerApart},
		&storeRule{name: "revoker_later_at_wins", contract: cRevLater, run: ruleRevokerLaterAt},
		&storeRule{name: "revoker_expiry_never_shortened", contract: cRevLater, run: ruleRevokerExpiryKept},
		&storeRule{name: "revoker_ttl_expiry", contract: cRevTTL, run: ruleRevokerTTL},
		&storeRule{name: "revoker_concurrent", contract: cRevConcurrent, run: ruleRevokerConcurrent},
		&storeRule{name: "revoker_cancelled_context", contract: cRevUnknown, run: ruleRevokerCancelled},
		&storeRule{name: "revoker_sessions", contract: cRevBackend, run: ruleRevokerSessions},
		&storeRule{name: "revoker_cache", contract: cRevBackend, run: ruleRevokerCache},
		&storeRule{name: "revoker_fail_modes", contract: cRevUnknown, run: ruleRevokerFailModes},
	)
}

// revoker returns the case's store as a store.Revoker, or skips the rule.
func (c *storeCase) revoker() store.Revoker {
	c.t.Helper()
	r, ok := c.st.(store.Revoker)
	if !ok {
		c.t.Skip("the store does not implement store.Revoker: it cannot serve as a revocation backend")
	}
	return r
}

// markKey returns a fresh mark key of kind ("sid", "sub" or "key") as the
// session library makes them: the kind, a colon and 43 base64url
// characters.
func markKey(kind string) string { return kind + ":" + newKey() }

func (c *storeCase) revoke(r store.Revoker, marks ...store.Mark) {
	c.t.Helper()
	if err := r.Revoke(c.ctx, marks, c.now()); err != nil {
		c.fatalf("Revoke(%d marks): %v", len(marks), err)
	}
}

// revoked returns the answers for keys, failing the rule on an error or an
// answer of the wrong length.
func (c *storeCase) revoked(r store.Revoker, keys ...string) []time.Time {
	c.t.Helper()
	ats, err := r.Revoked(c.ctx, keys, c.now())
	if err != nil {
		c.fatalf("Revoked(%d keys): %v", len(keys), err)
	}
	if len(ats) != len(keys) {
		c.fatalf("Revoked(%d keys) returned %d answers", len(keys), len(ats))
	}
	return ats
}

// wantMark checks that key's answer is at (to the second), or none for
// the zero Time.
func (c *storeCase) wantMark(key string, got, want time.Time, why string) {
	c.t.Helper()
	switch {
	case want.IsZero() && !got.IsZero():
		c.fatalf("%s: Revoked(%q) = %v; want the zero Time (no live mark)", why, key, got)
	case !want.IsZero() && got.IsZero():
		c.fatalf("%s: Revoked(%q) = the zero Time; want the mark's At %v", why, key, want)
	case got.Unix() != want.Unix():
		c.fatalf("%s: Revoked(%q) = %v; want the mark's At %v (to the second)", why, key, got, want)
	}
}

// markAt is the At of the rules' marks: the case's time, in whole seconds.
func (c *storeCase) markAt() time.Time { return c.now().Truncate(time.Second) }

func ruleRevokerMarkLookup(c *storeCase) {
	r := c.revoker()
	at := c.markAt()
	sid, sub, key := markKey("sid"), markKey("sub"), markKey("key")
	c.revoke(r, store.Mark{Key: sid, At: at, TTL: longTTL}, store.Mark{Key: sub, At: at.Add(-time.Hour), TTL: longTTL})
	c.revoke(r, store.Mark{Key: key, At: at.Add(-2 * time.Hour), TTL: longTTL})
	never := markKey("sid")
	ats := c.revoked(r, key, never, sid, sub)
	c.wantMark(key, ats[0], at.Add(-2*time.Hour), "a key mark")
	c.wantMark(never, ats[1], time.Time{}, "a key never marked")
	c.wantMark(sid, ats[2], at, "a session id mark")
	c.wantMark(sub, ats[3], at.Add(-time.Hour), "a subject mark")
	if ats := c.revoked(r); len(ats) != 0 {
		c.fatalf("Revoked of no keys = %v; want none", ats)
	}
	for _, k := range []string{markKey("sid"), markKey("sub"), markKey("key")} {
		c.wantMark(k, c.revoked(r, k)[0], time.Time{}, "a fresh key of each kind")
	}
}

func ruleRevokerManyKeys(c *storeCase) {
	r := c.revoker()
	at := c.markAt()
	const n = 200
	marks := make([]store.Mark, 0, n)
	want := map[string]time.Time{}
	for i := range n {
		k := markKey([]string{"sid", "sub", "key"}[i%3])
		a := at.Add(-time.Duration(i) * time.Second)
		marks = append(marks, store.Mark{Key: k, At: a, TTL: longTTL})
		want[k] = a
	}
	c.revoke(r, marks...) // one call
	keys := make([]string, 0, 2*n+2)
	for _, m := range marks {
		keys = append(keys, m.Key, markKey("sid"))
	}
	keys = append(keys, marks[0].Key, marks[0].Key) // twice in one lookup
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	ats := c.revoked(r, keys...) // one call
	for i, k := range keys {
		c.wantMark(k, ats[i], want[k], fmt.Sprintf("answer %d of %d in one call", i, len(keys)))
	}
}

func ruleRevokerApart(c *storeCase) {
	r := c.revoker()
	// A record whose name and key spell a mark's key in a "name:key"
	// keyspace is not a mark, and a mark is not a record.
	suffix := newKey()
	c.set("sid", suffix, []byte("a record"), store.SetOptions{})
	c.wantMark("sid:"+suffix, c.revoked(r, "sid:"+suffix)[0], time.Time{}, "a session record under name \"sid\" (marks live apart from records)")
	other := newKey()
	at := c.markAt() // once: the store's clock may pass a second meanwhile
	c.revoke(r, store.Mark{Key: "sid:" + other, At: at, TTL: longTTL})
	c.wantMissing("sid", other, "a mark \"sid:<key>\" is not a record under name \"sid\"")
	c.wantMissing(sessionName, other, "a mark is not a session record")
	c.del("sid", suffix, nil)
	c.del("sid", other, nil)
	c.wantMark("sid:"+other, c.revoked(r, "sid:"+other)[0], at, "a mark after Delete of a record of the same name and key")
}

func ruleRevokerLaterAt(c *storeCase) {
	r := c.revoker()
	at := c.markAt()
	k := markKey("sub")
	c.revoke(r, store.Mark{Key: k, At: at, TTL: longTTL})
	c.revoke(r, store.Mark{Key: k, At: at.Add(-time.Hour), TTL: longTTL})
	c.wantMark(k, c.revoked(r, k)[0], at, "after a mark with an earlier At")
	c.revoke(r, store.Mark{Key: k, At: at.Add(time.Hour), TTL: longTTL})
	c.wantMark(k, c.revoked(r, k)[0], at.Add(time.Hour), "after a mark with a later At")
	// Both in one call, the later first.
	k2 := markKey("key")
	c.revoke(r, store.Mark{Key: k2, At: at, TTL: longTTL}, store.Mark{Key: k2, At: at.Add(-time.Minute), TTL: longTTL})
	c.wantMark(k2, c.revoked(r, k2)[0], at, "after one call with a later and an earlier mark of one key")
}

func ruleRevokerExpiryKept(c *storeCase) {
	r := c.revoker()
	at := c.markAt()
	longFirst, shortFirst, short := markKey("sid"), markKey("sub"), markKey("key")
	c.revoke(r, store.Mark{Key: longFirst, At: at, TTL: longTTL})
	c.revoke(r, store.Mark{Key: longFirst, At: at, TTL: shortTTL})
	c.revoke(r, store.Mark{Key: shortFirst, At: at, TTL: shortTTL})
	c.revoke(r, store.Mark{Key: shortFirst, At: at.Add(-time.Hour), TTL: longTTL})
	c.revoke(r, store.Mark{Key: short, At: at, TTL: shortTTL})
	c.expire(func() bool { return c.revoked(r, short)[0].IsZero() })
	ats := c.revoked(r, longFirst, shortFirst)
	c.wantMark(longFirst, ats[0], at, "a long mark, then a short one, after the short TTL")
	c.wantMark(shortFirst, ats[1], at, "a short mark, then a long one with an earlier At, after the short TTL")
}

func ruleRevokerTTL(c *storeCase) {
	r := c.revoker()
	at := c.markAt()
	short, long := markKey("sid"), markKey("sid")
	c.revoke(r, store.Mark{Key: short, At: at, TTL: shortTTL}, store.Mark{Key: long, At: at, TTL: longTTL})
	c.wantMark(short, c.revoked(r, short)[0], at, "a mark within its TTL")
	c.expire(func() bool { return c.revoked(r, short)[0].IsZero() })
	ats := c.revoked(r, short, long)
	c.wantMark(short, ats[0], time.Time{}, "a mark after its TTL")
	c.wantMark(long, ats[1], at, "a longer-lived mark of the same call")
}

func ruleRevokerConcurrent(c *storeCase) {
	r := c.revoker()
	at := c.markAt()
	const workers, each = 8, 20
	keys := make([][]string, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shared := markKey("sub") // written by this goroutine and read by all
			for i := range each {
				k := markKey("sid")
				keys[w] = append(keys[w], k)
				marks := []store.Mark{{Key: k, At: at, TTL: longTTL}, {Key: shared, At: at.Add(time.Duration(i) * time.Second), TTL: longTTL}}
				if err := r.Revoke(c.ctx, marks, c.now()); err != nil {
					errs <- fmt.Errorf("Revoke: %w", err)
					return
				}
				ats, err := r.Revoked(c.ctx, []string{k, shared}, c.now())
				if err != nil || len(ats) != 2 || ats[0].Unix() != at.Unix() || ats[1].Unix() != at.Add(time.Duration(i)*time.Second).Unix() {
					errs <- fmt.Errorf("Revoked right after Revoke, with %d other goroutines at work: %v, %v", workers-1, ats, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		c.fatalf("%v", err)
	}
	var all []string
	for _, ks := range keys {
		all = append(all, ks...)
	}
	for i, got := range c.revoked(r, all...) {
		c.wantMark(all[i], got, at, "a mark written among concurrent writers")
	}
}

func ruleRevokerCancelled(c *storeCase) {
	r := c.revoker()
	at := c.markAt()
	k := markKey("sid")
	c.revoke(r, store.Mark{Key: k, At: at, TTL: longTTL})
	cancelled, cancel := context.WithCancel(c.ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(c.ctx, time.Now().Add(-time.Second))
	defer cancel2()
	for _, ctx := range []context.Context{cancelled, expired} {
		ats, err := r.Revoked(ctx, []string{k}, c.now())
		if err == nil && (len(ats) != 1 || ats[0].IsZero()) {
			c.fatalf("Revoked with a %v context = %v, nil: a lookup that did not happen must be an error, never \"not revoked\"", ctx.Err(), ats)
		}
		k2 := markKey("sub")
		if err := r.Revoke(ctx, []store.Mark{{Key: k2, At: at, TTL: longTTL}}, c.now()); err == nil {
			c.wantMark(k2, c.revoked(r, k2)[0], at, "a Revoke with a done context that reported success")
		}
	}
	c.wantMark(k, c.revoked(r, k)[0], at, "a mark after lookups with done contexts")
}

// revocationManager returns a cookie-storage Manager with backend as its
// revocation backend, on the case's library clock, remember on.
func (c *storeCase) revocationManager(backend store.Revoker, mutate ...func(*session.Config)) *session.Manager {
	c.t.Helper()
	cfg := session.Config{
		Secret:         storeSecret,
		Revocation:     backend,
		Clock:          c.libraryClock,
		Remember:       true,
		RememberSafety: "None",
		IdlingTimeout:  session.Disabled,
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

// cookieLogin saves a new cookie session of subject, carrying keys, and
// returns the browser's jar.
func (c *storeCase) cookieLogin(m *session.Manager, subject string, keys ...string) storeJar {
	c.t.Helper()
	j := storeJar{}
	var err error
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s := m.NewSession(adapter.NewHTTP(w, r))
		s.SetSubject(subject)
		s.SetRevocationKeys(keys...)
		s.Set("user", subject)
		err = s.Save()
	})
	if err != nil {
		c.fatalf("Save of a cookie session: %v", err)
	}
	return j
}

// cookieOpen opens the jar's cookie session without keeping its cookies.
func (c *storeCase) cookieOpen(m *session.Manager, j storeJar) error {
	c.t.Helper()
	var err error
	j.clone().serve(c, func(w http.ResponseWriter, r *http.Request) {
		err = m.NewSession(adapter.NewHTTP(w, r)).Open()
	})
	return err
}

// cookieDestroy opens the jar's cookie session and destroys it.
func (c *storeCase) cookieDestroy(m *session.Manager, j storeJar) error {
	c.t.Helper()
	var err error
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s := m.NewSession(adapter.NewHTTP(w, r))
		if err = s.Open(); err != nil {
			c.fatalf("Open before Destroy: %v", err)
		}
		err = s.Destroy()
	})
	return err
}

func (c *storeCase) wantCookieOpen(m *session.Manager, j storeJar, why string) {
	c.t.Helper()
	if err := c.cookieOpen(m, j); err != nil {
		c.fatalf("%s: Open = %v; want the session", why, err)
	}
}

func (c *storeCase) wantCookieRevoked(m *session.Manager, j storeJar, why string) {
	c.t.Helper()
	if err := c.cookieOpen(m, j); !errors.Is(err, session.ErrNotFound) {
		c.fatalf("%s: Open = %v; want an error matching session.ErrNotFound (revoked)", why, err)
	}
}

func ruleRevokerSessions(c *storeCase) {
	r := c.revoker()
	m := c.revocationManager(r)
	other := c.revocationManager(r, func(cfg *session.Config) { cfg.Audience = "other" })

	// Destroy: a copy of the cookies no longer opens.
	j := c.cookieLogin(m, "alice")
	copied := j.clone()
	if err := c.cookieDestroy(m, j); err != nil {
		c.fatalf("Destroy: %v", err)
	}
	c.wantCookieRevoked(m, copied, "a copy of a destroyed session's cookies")
	c.wantCookieRevoked(m, copied.only(m.RememberCookieName()), "a copy of a destroyed session's remember cookie")

	// A subject: its sessions in the audience, not a session created a
	// second later, nor another subject's, nor another audience's.
	bob := c.cookieLogin(m, "bob")
	carol := c.cookieLogin(m, "carol")
	bobElsewhere := c.cookieLogin(other, "bob")
	if _, err := m.RevokeSessions(c.ctx, "bob"); err != nil {
		c.fatalf("RevokeSessions with cookie storage: %v", err)
	}
	c.wantCookieRevoked(m, bob, "a session of the revoked subject")
	c.wantCookieOpen(m, carol, "a session of another subject")
	c.wantCookieOpen(other, bobElsewhere, "the subject's session in another audience")
	c.skip(time.Second)
	c.wantCookieOpen(m, c.cookieLogin(m, "bob"), "a session of the revoked subject created a second later")

	// A key: the sessions that carry it, in every audience, and no others.
	dave := c.cookieLogin(m, "dave", "sid:https://idp.example#1", "sub:https://idp.example#dave")
	erin := c.cookieLogin(m, "erin", "sid:https://idp.example#2")
	daveElsewhere := c.cookieLogin(other, "dave", "sid:https://idp.example#1")
	if err := m.Revoke(c.ctx, "sid:https://idp.example#1", 0); err != nil {
		c.fatalf("Revoke: %v", err)
	}
	c.wantCookieRevoked(m, dave, "a session carrying the revoked key")
	c.wantCookieRevoked(other, daveElsewhere, "a session carrying the revoked key in another audience")
	c.wantCookieOpen(m, erin, "a session carrying another key")
	c.skip(time.Second)
	c.wantCookieOpen(m, c.cookieLogin(m, "dave", "sid:https://idp.example#1"), "a session carrying the key created a second later")
}

// faultyRevoker fails every call while down is set, counting lookups.
type faultyRevoker struct {
	store.Revoker
	mu      sync.Mutex
	down    error
	lookups int
}

func (f *faultyRevoker) fail(err error) { f.mu.Lock(); f.down = err; f.mu.Unlock() }

func (f *faultyRevoker) calls() int { f.mu.Lock(); defer f.mu.Unlock(); return f.lookups }

func (f *faultyRevoker) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	f.mu.Lock()
	err := f.down
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Revoker.Revoke(ctx, marks, now)
}

func (f *faultyRevoker) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	f.mu.Lock()
	f.lookups++
	err := f.down
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.Revoker.Revoked(ctx, keys, now)
}

func ruleRevokerCache(c *storeCase) {
	r := &faultyRevoker{Revoker: c.revoker()}
	cached := c.revocationManager(r, func(cfg *session.Config) {
		cfg.RevocationCacheTTL = time.Minute
		cfg.RevocationCacheErrorTTL = 10 * time.Second
	})
	elsewhere := c.revocationManager(r) // another process: no cache in common

	j := c.cookieLogin(cached, "alice", "k")
	c.wantCookieOpen(cached, j, "the session")
	c.wantCookieOpen(cached, j, "the session again")
	if n := r.calls(); n != 1 {
		c.fatalf("two opens within the cache TTL asked the backend %d times; want once (a cache hit)", n)
	}
	if err := elsewhere.Revoke(c.ctx, "k", 0); err != nil {
		c.fatalf("Revoke: %v", err)
	}
	c.wantCookieOpen(cached, j, "another process's revocation within the cache TTL (the documented window)")
	c.skip(time.Minute)
	c.wantCookieRevoked(cached, j, "another process's revocation once the cache TTL has passed")

	// This Manager's own revocation is seen at once.
	own := c.cookieLogin(cached, "bob", "k2")
	c.wantCookieOpen(cached, own, "bob's session, now cached")
	if err := cached.Revoke(c.ctx, "k2", 0); err != nil {
		c.fatalf("Revoke: %v", err)
	}
	c.wantCookieRevoked(cached, own, "this Manager's own revocation, within the cache TTL")

	// Errors are cached for the error TTL.
	carol := c.cookieLogin(cached, "carol")
	r.fail(errors.New("conformance: revocation backend down"))
	before := r.calls()
	for range 3 {
		if err := c.cookieOpen(cached, carol); !errors.Is(err, session.ErrStore) {
			c.fatalf("Open with the backend down (FailClosed) = %v; want session.ErrStore", err)
		}
	}
	if n := r.calls() - before; n != 1 {
		c.fatalf("three opens with the backend down asked it %d times; want once (the error cached)", n)
	}
	r.fail(nil)
	c.skip(10 * time.Second)
	c.wantCookieOpen(cached, carol, "the backend back, once the error TTL has passed")
}

func ruleRevokerFailModes(c *storeCase) {
	down := errors.New("conformance: revocation backend down")
	for _, mode := range []session.FailMode{session.FailClosed, session.FailOpen} {
		r := &faultyRevoker{Revoker: c.revoker()}
		m := c.revocationManager(r, func(cfg *session.Config) { cfg.RevocationFailMode = mode })
		j := c.cookieLogin(m, "alice", "k")
		r.fail(down)
		err := c.cookieOpen(m, j)
		switch {
		case mode == session.FailOpen && err != nil:
			c.fatalf("Open with FailOpen and the backend down = %v; want the session", err)
		case mode == session.FailClosed && (!errors.Is(err, session.ErrStore) || !errors.Is(err, down) || errors.Is(err, session.ErrNotFound)):
			c.fatalf("Open with FailClosed and the backend down = %v; want session.ErrStore wrapping the backend's error", err)
		}
		r.fail(nil)
		var destroyErr error
		lines := j.serve(c, func(w http.ResponseWriter, req *http.Request) {
			s := m.NewSession(adapter.NewHTTP(w, req))
			if err := s.Open(); err != nil {
				c.fatalf("Open with the backend back: %v", err)
			}
			r.fail(down)
			destroyErr = s.Destroy()
		})
		if mode == session.FailOpen && destroyErr != nil || mode == session.FailClosed && !errors.Is(destroyErr, session.ErrStore) {
			c.fatalf("Destroy with %s and the backend down = %v", mode, destroyErr)
		}
		if len(j) != 0 {
			c.fatalf("Destroy with %s and the backend down left cookies in the browser (Set-Cookie %q); it must expire them", mode, lines)
		}
		if err := m.Revoke(c.ctx, "k", 0); !errors.Is(err, session.ErrStore) {
			c.fatalf("Revoke with the backend down = %v; want session.ErrStore", err)
		}
	}
}
