// Command chi is the sessiongo demo on go-chi/chi with chisession: a login
// form with a "remember me" box, a page with the session's data, subject and
// remaining timeouts, and a logout button. Sessions live in the cookie, so
// no server is needed:
//
//	go run ./examples/chi
//
// then open http://127.0.0.1:8080 (-addr changes the address). Set
// SESSION_SECRET to keep sessions across restarts. The page, the view and the
// login, visit and logout steps are in package demo, shared by every example.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	chisession "github.com/sessiongo/session/adapters/chi"
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

// newHandler returns the demo's routes on m. The middleware starts each
// request's session (open, and refresh as its timeouts near); handlers get
// it with chisession.From and save explicitly.
func newHandler(m *session.Manager) http.Handler {
	r := chi.NewRouter()
	r.Use(chisession.Middleware(m))
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		if err := demo.NewView("chi", chisession.From(r), nil).Render(w); err != nil {
			log.Print(err)
		}
	})
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := demo.Login(chisession.From(r), r.FormValue("user"), r.FormValue("remember") != ""); err != nil {
			log.Print("login: ", err) // for the log: a store error may name hosts
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	r.Post("/visit", func(w http.ResponseWriter, r *http.Request) {
		if err := demo.Visit(chisession.From(r)); err != nil {
			log.Print(err)
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := demo.Logout(chisession.From(r)); err != nil {
			log.Print(err)
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return r
}
