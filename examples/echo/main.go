// Command echo is the sessiongo demo on echo with echosession: a login
// form with a "remember me" box, a page with the session's data, subject and
// remaining timeouts, and a logout button. Sessions live in the cookie, so
// no server is needed:
//
//	go run ./examples/echo
//
// then open http://127.0.0.1:8080 (-addr changes the address). Set
// SESSION_SECRET to keep sessions across restarts.
package main

import (
	"flag"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echosession "github.com/sessiongo/session/adapters/echo"
	session "github.com/sessiongo/session/core"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sessiongo demo</title>
<style>body{font:16px system-ui;max-width:36em;margin:3em auto}dt{font-weight:bold}</style>
<h1>sessiongo demo (echo)</h1>
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
<form method="post" action="/login">
<label>Name <input name="user" required autofocus></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button>Log in</button>
</form>
{{end}}`))

type view struct {
	Exists                    bool
	Subject, ID               string
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

// newHandler returns the demo's routes on m. The middleware starts each
// request's session (open, and refresh as its timeouts near); handlers get
// it with echosession.From and save explicitly.
func newHandler(m *session.Manager) http.Handler {
	e := echo.New()
	e.Use(middleware.Recover(), echosession.Middleware(m))
	e.GET("/", func(c echo.Context) error {
		s := echosession.From(c)
		v := view{Exists: s.Exists()}
		if v.Exists {
			v.Subject, v.ID, v.Data, v.Remember = s.Subject(), s.ID(), s.Data(), s.Remember()
			v.Idling = remaining(s.IdlingTimeout())
			v.Rolling = remaining(s.RollingTimeout())
			v.Absolute = remaining(s.AbsoluteTimeout())
		}
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		if err := page.Execute(c.Response(), v); err != nil {
			log.Print(err)
		}
		return nil
	})
	e.POST("/login", func(c echo.Context) error {
		s := echosession.From(c)
		s.SetData(nil)
		s.SetSubject(c.FormValue("user"))
		s.Set("visits", 0)
		s.Set("login", time.Now().UTC().Format(time.RFC3339))
		s.SetRemember(c.FormValue("remember") != "")
		if err := s.Save(); err != nil { // a new session id on every login
			return c.String(http.StatusInternalServerError, err.Error())
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/visit", func(c echo.Context) error {
		if s := echosession.From(c); s.Exists() {
			visits, _ := s.Get("visits").(float64)
			s.Set("visits", visits+1)
			if err := s.Save(); err != nil {
				log.Print(err)
			}
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/logout", func(c echo.Context) error {
		if s := echosession.From(c); s.Exists() {
			if err := s.Logout(); err != nil {
				log.Print(err)
			}
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	return e
}
