// Command gin is the sessiongo demo on gin with ginsession: a login
// form with a "remember me" box, a page with the session's data, subject and
// remaining timeouts, and a logout button. Sessions live in the cookie, so
// no server is needed:
//
//	go run ./examples/gin
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

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessiongo/session/adapters/gin"
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
// it with ginsession.From and save explicitly.
func newHandler(m *session.Manager) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), ginsession.Middleware(m))
	r.GET("/", func(c *gin.Context) {
		c.Header("Content-Type", "text/html; charset=utf-8")
		if err := demo.NewView("gin", ginsession.From(c), nil).Render(c.Writer); err != nil {
			log.Print(err)
		}
	})
	r.POST("/login", func(c *gin.Context) {
		if err := demo.Login(ginsession.From(c), c.PostForm("user"), c.PostForm("remember") != ""); err != nil {
			log.Print("login: ", err) // for the log: a store error may name hosts
			c.String(http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
			return
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/visit", func(c *gin.Context) {
		if err := demo.Visit(ginsession.From(c)); err != nil {
			log.Print(err)
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/logout", func(c *gin.Context) {
		if err := demo.Logout(ginsession.From(c)); err != nil {
			log.Print(err)
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	return r
}
