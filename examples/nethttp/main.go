// Command nethttp is the sessiongo demo on net/http and core alone: sign in
// (with a "remember me" box), a welcome flash message, the user's profile (a
// struct) and a visit counter (an int64) read back typed on later requests,
// log out, and log out everywhere. Sessions live in the cookie, so no server
// is needed:
//
//	go run ./examples/nethttp
//
// With -store memory, sessions live in the process instead, with the index
// of each user's sessions, and /devices lists the browsers the user is
// signed in on ("your devices": sign out one, or all the others).
//
// then open http://127.0.0.1:8080 and sign in as alice or bob (-addr
// changes the address). Set SESSION_SECRET to keep sessions across
// restarts. The session code is all here; package demo holds the page
// template, shared by every example.
//
// Logging out holds with cookie storage because revocation is on
// (Config.Revocation): a logout writes marks that every later Open checks,
// so copies of the cookies no longer open. The marks live in this process
// (session.NewMemoryStore), which is enough for one instance; in production
// every instance shares one backend (redisstore, memcachedstore or sqlstore)
// and sets RevocationCacheTTL, or a logout on one instance would not hold on
// the others.
//
// Marks count whole seconds: "log out everywhere" revokes the user's
// sessions created up to the second it runs, so a sign-in of the same user
// in that very second is revoked too: the user sees the login form again,
// without the welcome message, and signing in a second later works.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	"github.com/sessiongo/session/examples/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	storage := flag.String("store", "cookie", `where sessions live: "cookie", or "memory" for the "your devices" page`)
	flag.Parse()

	revocations, err := session.NewMemoryStore() // in production, shared: see the package doc
	if err != nil {
		log.Fatal(err)
	}
	cfg := newConfig(os.Getenv("SESSION_SECRET"), revocations, *addr)
	switch *storage {
	case "cookie":
	case "memory":
		withDevices(&cfg, revocations)
	default:
		log.Fatalf("-store %q: want cookie or memory", *storage)
	}
	m, err := session.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("sessiongo demo on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, newHandler(m)))
}

// newConfig is the demo's session configuration: cookie storage (no Store),
// remember-me on, and revocation in revocations. An empty secret gives a
// random key and a warning. Cookies are Secure unless addr is a loopback
// address, where the demo serves plain HTTP (see demo.Loopback).
func newConfig(secret string, revocations store.Revoker, addr string) session.Config {
	return session.Config{
		Secret:        secret,
		Remember:      true,
		Revocation:    revocations,
		DisableSecure: demo.Loopback(addr),
	}
}

// withDevices keeps the sessions in st, with the subject index and at most
// five browsers per user (the oldest signed out at the sixth sign-in), so
// that /devices lists them. A store needs no revocation marks: a logout
// deletes the session's records.
func withDevices(cfg *session.Config, st session.Store) {
	cfg.Store, cfg.StoreMetadata, cfg.MaxSessionsPerSubject = st, true, 5
	cfg.Revocation = nil // deleting a session's records revokes it
}

// Profile is what the demo keeps about the signed-in user: a struct in the
// session, JSON in the cookie, read back with session.Get[Profile] as the
// same struct in every request. ID is beyond 2^53, where a float64 would
// round it; Since comes back as the same instant with the same offset.
type Profile struct {
	Name  string
	ID    int64
	Since time.Time
	Roles []string
}

// accounts stands in for the user database (and the password check).
var accounts = map[string]Profile{
	"alice": {
		Name:  "Alice Archer",
		ID:    9007199254740993, // 2^53 + 1
		Since: time.Date(2019, time.March, 14, 15, 9, 26, 535897932, time.FixedZone("", 2*60*60)),
		Roles: []string{"admin", "editor"},
	},
	"bob": {
		Name:  "Bob Baker",
		ID:    9007199254740995,
		Since: time.Date(2021, time.July, 1, 8, 0, 0, 1, time.UTC),
		Roles: []string{"viewer"},
	},
}

// currentUser is service code: it takes only a context.Context, as code
// below the handlers does, and finds the session the middleware put there.
// No one signed in is an error matching session.ErrNotFound.
func currentUser(ctx context.Context) (Profile, error) {
	s := session.FromContext(ctx)
	if s == nil {
		return Profile{}, errors.New("no session in the context: is the middleware installed?")
	}
	return session.Get[Profile](s, "profile")
}

// newHandler returns the demo's routes on m. The middleware starts each
// request's session: a missing, expired, tampered with or revoked cookie
// just gives a new, empty one (s.Exists() is false); a store or revocation
// backend failure is logged and answered 500 before the handlers run.
// Handlers get the session with session.FromRequest, and save explicitly,
// before writing the body.
func newHandler(m *session.Manager) http.Handler {
	// fail logs err (a backend outage, ErrStore, above all) and answers a
	// bare 500: the error's text may name the backend's hosts, so it never
	// reaches the client.
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		m.Logger().Error("demo", "err", err, "path", r.URL.Path)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
	// done ends a form post: back to the page, or fail.
	done := func(w http.ResponseWriter, r *http.Request, err error) {
		if err != nil {
			fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}

	mux := http.NewServeMux()
	devicesRoutes(mux, m, fail)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page, err := view(r.Context(), session.FromRequest(r))
		if err != nil {
			fail(w, r, err)
			return
		}
		page.Devices = page.User != "" && m.Store() != nil
		if err := page.Render(w); err != nil {
			m.Logger().Error("demo: render", "err", err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		name := r.FormValue("user")
		user, ok := accounts[name] // a real app checks a password here
		if !ok {
			s.Flash("notice", "Unknown user: try alice or bob.")
			done(w, r, s.Save())
			return
		}
		s.SetSubject(name)
		s.SetRemember(r.FormValue("remember") != "")
		// A key of this sign-in's own, revoked at logout: it ends every
		// copy of its cookies, also those taken before a later save.
		s.SetRevocationKeys("login:" + rand.Text())
		// Facts for the "your devices" page: personal data, recorded only
		// with a store (cookie storage ignores them).
		s.SetDeviceFacts(session.DeviceFacts{UserAgent: r.UserAgent(), IP: r.RemoteAddr})
		s.Set("profile", user)
		s.Set("visits", int64(0))
		s.Flash("notice", "Welcome, "+user.Name+".")
		// Renew, not Save: a new session id, so that no cookie from before
		// the sign-in (a copy, or one an attacker planted) opens this session.
		done(w, r, s.Renew())
	})
	mux.HandleFunc("POST /visit", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		if s.Subject() == "" { // not signed in: nothing to count, the page shows the login form
			done(w, r, nil)
			return
		}
		visits, err := session.Get[int64](s, "visits")
		if err == nil {
			s.Set("visits", visits+1)
			err = s.Save()
		}
		done(w, r, err)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		if !s.Exists() { // signed out already: nothing to end
			done(w, r, nil)
			return
		}
		// The sign-in's key first: if the backend fails, nothing has
		// changed yet and the user can try again. With a Store (-store
		// memory) there are no marks: Destroy deletes the records.
		for _, key := range s.RevocationKeys() {
			if m.Store() != nil {
				break
			}
			if err := m.Revoke(r.Context(), key, 0); err != nil {
				done(w, r, err)
				return
			}
		}
		done(w, r, s.Destroy()) // expires the cookies and revokes the request's
	})
	mux.HandleFunc("POST /logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		if s.Subject() == "" { // not signed in: no one to sign out
			done(w, r, nil)
			return
		}
		// Every session of the user created until now, in every browser.
		if _, err := m.RevokeSessions(r.Context(), s.Subject()); err != nil {
			done(w, r, err)
			return
		}
		done(w, r, s.Destroy())
	})
	return m.Middleware()(mux)
}

// view reads what the page shows from the session. Without a session it is
// the login form. Flash messages are read once: when there were some, view
// saves the session without them, before the page is written. When someone
// is signed in, it reads their profile (through the service code) and the
// visit counter, typed.
func view(ctx context.Context, s *session.Session) (demo.Page, error) {
	page := demo.Page{Framework: "net/http"}
	if !s.Exists() { // no session (none, expired, tampered with, revoked)
		return page, nil
	}
	notices, err := session.PopFlashes[string](s, "notice")
	if err != nil {
		return page, err
	}
	page.Notices = notices
	if s.Subject() != "" { // signed in
		user, err := currentUser(ctx)
		if err != nil {
			return page, err
		}
		visits, err := session.Get[int64](s, "visits")
		if err != nil {
			return page, err
		}
		page.User, page.Visits, page.Session = s.Subject(), visits, s
		page.Name, page.UserID, page.Since, page.Roles = user.Name, user.ID, user.Since, user.Roles
	}
	if notices != nil {
		return page, s.Save()
	}
	return page, nil
}
