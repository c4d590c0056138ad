// Command nethttp is the sessiongo demo on net/http and core alone: a login
// form with a "remember me" box, a page with the session's data, subject and
// remaining timeouts, and a logout button. Sessions live in the cookie, so
// no server is needed:
//
//	go run ./examples/nethttp
//
// then open http://127.0.0.1:8080 (-addr changes the address). Set
// SESSION_SECRET to keep sessions across restarts. The page, the view and the
// login and visit steps are in package demo, shared by every example.
package main

import (
	"errors"
	"flag"
	"log"
	"net/http"
	"os"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/examples/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()

	// An empty secret: a random key and a warning. On a loopback address
	// the demo turns Secure cookies off, as it serves plain HTTP there.
	m, err := demo.NewManager(os.Getenv("SESSION_SECRET"), *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("sessiongo demo on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, newHandler(m)))
}

// newHandler returns the demo's routes on m, calling core directly: m.Start
// opens and refreshes the page's session, m.New starts a fresh one at login,
// m.Open reads it for a visit and m.Logout ends it.
func newHandler(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, _, _, err := m.Start(w, r)
		if err := demo.NewView("net/http", s, err).Render(w); err != nil { // err: expired, tampered...
			log.Print(err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := demo.Login(m.New(w, r), r.FormValue("user"), r.FormValue("remember") != ""); err != nil {
			log.Print("login: ", err) // for the log: a store error may name hosts
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /visit", func(w http.ResponseWriter, r *http.Request) {
		s, _, err := m.Open(w, r)
		if err == nil {
			err = demo.Visit(s)
		}
		if err != nil && !errors.Is(err, session.ErrNotFound) {
			log.Print(err)
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := m.Logout(w, r); err != nil && !errors.Is(err, session.ErrNotFound) {
			log.Print(err)
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return mux
}
