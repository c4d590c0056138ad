// Command nethttp is the sessiongo demo on net/http and core alone: a login
// form with a "remember me" box, a page with the session's data, subject and
// remaining timeouts, and a logout button. Sessions live in the cookie, so
// no server is needed:
//
//	go run ./examples/nethttp
//
// then open http://127.0.0.1:8080. Set SESSION_SECRET to keep sessions
// across restarts.
package main

import (
	"errors"
	"flag"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	session "github.com/sessiongo/session/core"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sessiongo demo</title>
<style>body{font:16px system-ui;max-width:36em;margin:3em auto}dt{font-weight:bold}</style>
<h1>sessiongo demo (net/http)</h1>
{{if .Exists}}
<p>Signed in as <b>{{.Subject}}</b>.</p>
<dl>
<dt>Data</dt><dd><code>{{.Data}}</code></dd>
<dt>Session id</dt><dd><code>{{.ID}}</code></dd>
<dt>Remaining</dt><dd>idling {{.Idling}}, rolling {{.Rolling}}, absolute {{.Absolute}}</dd>
<dt>Remember me</dt><dd>{{.Remember}}</dd>
</dl>
<form method="post" action="/visit"><button>Count a visit</button></form>
<form method="post" action="/logout"><button>Log out</button></form>
{{else}}
{{with .Reason}}<p><i>No session: {{.}}</i></p>{{end}}
<form method="post" action="/login">
<label>Name <input name="user" required autofocus></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button>Log in</button>
</form>
{{end}}`))

type view struct {
	Exists                    bool
	Subject, ID, Reason       string
	Data                      map[string]any
	Idling, Rolling, Absolute string
	Remember                  bool
}

func remaining(d time.Duration, ok bool) string {
	if !ok {
		return "off"
	}
	return d.String()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()

	m, err := newManager(os.Getenv("SESSION_SECRET")) // empty: a random key and a warning
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("sessiongo demo on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, newHandler(m)))
}

// newManager configures sessions on cookie storage. Remember-me is on; a
// login without the box calls SetRemember(false), which marks that session so
// that no remember cookie is issued for it.
func newManager(secret string) (*session.Manager, error) {
	return session.New(session.Config{Secret: secret, Remember: true})
}

// newHandler returns the demo's routes on m.
func newHandler(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, exists, _, err := m.Start(w, r)
		v := view{Exists: exists}
		if err != nil && !errors.Is(err, session.ErrNotFound) {
			v.Reason = err.Error() // expired, tampered, ...
		}
		if exists {
			v.Subject, v.ID, v.Data, v.Remember = s.Subject(), s.ID(), s.Data(), s.Remember()
			v.Idling = remaining(s.IdlingTimeout())
			v.Rolling = remaining(s.RollingTimeout())
			v.Absolute = remaining(s.AbsoluteTimeout())
		}
		if err := page.Execute(w, v); err != nil {
			log.Print(err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := m.New(w, r)
		s.SetSubject(r.FormValue("user"))
		s.Set("visits", 0)
		s.Set("login", time.Now().UTC().Format(time.RFC3339))
		s.SetRemember(r.FormValue("remember") != "")
		if err := s.Save(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /visit", func(w http.ResponseWriter, r *http.Request) {
		s, exists, err := m.Open(w, r)
		if exists {
			visits, _ := s.Get("visits").(float64)
			s.Set("visits", visits+1)
			err = s.Save()
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
