// Command fiber is the sessiongo demo on fiber with fibersession: a login
// form with a "remember me" box, a page with the session's data, subject and
// remaining timeouts, and a logout button. Sessions live in the cookie, so
// no server is needed:
//
//	go run ./examples/fiber
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

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	fibersession "github.com/sessiongo/session/adapters/fiber"
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
	log.Fatal(newApp(m).Listen(*addr))
}

// newApp returns the demo's routes on m. The middleware starts each
// request's session (open, and refresh as its timeouts near); handlers get
// it with fibersession.From and save explicitly. fiber reads request headers
// into ReadBufferSize bytes (4 KiB by default): the browser sends the session
// cookies back, so leave room for a session larger than one cookie.
func newApp(m *session.Manager) *fiber.App {
	app := fiber.New(fiber.Config{ReadBufferSize: 64 << 10, DisableStartupMessage: true})
	app.Use(recover.New(), fibersession.Middleware(m))
	app.Get("/", func(c *fiber.Ctx) error {
		c.Type("html", "utf-8")
		if err := demo.NewView("fiber", fibersession.From(c), nil).Render(c); err != nil {
			log.Print(err)
		}
		return nil
	})
	app.Post("/login", func(c *fiber.Ctx) error {
		if err := demo.Login(fibersession.From(c), c.FormValue("user"), c.FormValue("remember") != ""); err != nil {
			log.Print("login: ", err) // for the log: a store error may name hosts
			return c.Status(http.StatusInternalServerError).SendString(http.StatusText(http.StatusInternalServerError))
		}
		return c.Redirect("/", http.StatusSeeOther)
	})
	app.Post("/visit", func(c *fiber.Ctx) error {
		if err := demo.Visit(fibersession.From(c)); err != nil {
			log.Print(err)
		}
		return c.Redirect("/", http.StatusSeeOther)
	})
	app.Post("/logout", func(c *fiber.Ctx) error {
		if err := demo.Logout(fibersession.From(c)); err != nil {
			log.Print(err)
		}
		return c.Redirect("/", http.StatusSeeOther)
	})
	return app
}
