// Command echo is the sessiongo demo on echo with echosession: a login
// form with a "remember me" box, a page with the visit counter, a flash
// message and the session's remaining timeouts, and a logout button.
// Sessions live in the cookie, so no server is needed:
//
//	go run ./examples/echo
//
// then open http://127.0.0.1:8080 (-addr changes the address). Set
// SESSION_SECRET to keep sessions across restarts. The session code is all
// here; package demo holds the page template, shared by every example.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echosession "github.com/sessiongo/session/adapters/echo"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/examples/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()

	// session.New(session.Config{Secret: secret, Remember: true,
	// DisableSecure: addr is loopback}): cookie storage, remember-me on.
	// An empty secret gives a random key and a warning. Secure cookies are
	// turned off on a loopback address only, as the demo serves plain HTTP.
	m, err := demo.NewManager(os.Getenv("SESSION_SECRET"), *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("sessiongo demo on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, newHandler(m)))
}

// newHandler returns the demo's routes on m. The middleware starts each
// request's session (a missing, expired or tampered cookie just gives a new,
// empty one; a store outage is logged and answered 500); handlers get it
// with echosession.From and save explicitly, before writing the body.
func newHandler(m *session.Manager) http.Handler {
	e := echo.New()
	e.Use(middleware.Recover(), echosession.Middleware(m))
	e.GET("/", func(c echo.Context) error {
		s := echosession.From(c)
		page := demo.Page{Framework: "echo"}
		if s.Subject() != "" { // signed in; otherwise the login form
			visits, err := session.Get[int64](s, "visits")
			notices := s.Flashes("notice") // read once: save, or they come back
			if err == nil && notices != nil {
				err = s.Save()
			}
			if err != nil {
				return fail(c, err)
			}
			page = demo.Page{Framework: "echo", User: s.Subject(), Visits: visits, Notices: notices, Session: s}
		}
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		if err := page.Render(c.Response()); err != nil {
			log.Print(err)
		}
		return nil
	})
	e.POST("/login", func(c echo.Context) error {
		s := echosession.From(c)
		user := c.FormValue("user") // a real app checks a password here
		s.SetSubject(user)
		s.SetRemember(c.FormValue("remember") != "")
		s.Set("visits", 0)
		s.Flash("notice", "Welcome, "+user+".")
		// Renew, not Save: a new session id, so that no cookie from before
		// the login (a copy, or one an attacker planted) opens this session.
		return done(c, s.Renew())
	})
	e.POST("/visit", func(c echo.Context) error {
		s := echosession.From(c)
		if !s.Exists() { // signed out: nothing to count, the page shows the login form
			return done(c, nil)
		}
		visits, err := session.Get[int64](s, "visits")
		if err == nil {
			s.Set("visits", visits+1)
			err = s.Save()
		}
		return done(c, err)
	})
	e.POST("/logout", func(c echo.Context) error {
		s := echosession.From(c)
		if !s.Exists() { // signed out already: nothing to end
			return done(c, nil)
		}
		return done(c, s.Destroy()) // expires the session and remember cookies
	})
	return e
}

// done ends a form post: back to the page, or a bare 500 for an error (a
// store outage, ErrStore, above all). A visitor without a session is not
// an error: the middleware gave them a new one, and the handlers check
// s.Exists().
func done(c echo.Context, err error) error {
	if err != nil {
		return fail(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// fail logs err and answers a bare 500: the error's text may name the
// store's hosts, so it never reaches the client.
func fail(c echo.Context, err error) error {
	log.Print(err)
	return c.String(http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
}
