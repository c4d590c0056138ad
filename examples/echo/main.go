// Command echo is the sessiongo demo on echo with echosession: a login
// form with a "remember me" box, a page with the session's data, subject and
// remaining timeouts, and a logout button. Sessions live in the cookie, so
// no server is needed:
//
//	go run ./examples/echo
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

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echosession "github.com/sessiongo/session/adapters/echo"
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
// it with echosession.From and save explicitly.
func newHandler(m *session.Manager) http.Handler {
	e := echo.New()
	e.Use(middleware.Recover(), echosession.Middleware(m))
	e.GET("/", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		if err := demo.NewView("echo", echosession.From(c), nil).Render(c.Response()); err != nil {
			log.Print(err)
		}
		return nil
	})
	e.POST("/login", func(c echo.Context) error {
		if err := demo.Login(echosession.From(c), c.FormValue("user"), c.FormValue("remember") != ""); err != nil {
			log.Print("login: ", err) // for the log: a store error may name hosts
			return c.String(http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/visit", func(c echo.Context) error {
		if err := demo.Visit(echosession.From(c)); err != nil {
			log.Print(err)
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/logout", func(c echo.Context) error {
		if err := demo.Logout(echosession.From(c)); err != nil {
			log.Print(err)
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	return e
}
