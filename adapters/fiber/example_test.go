package fibersession_test

import (
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/gofiber/fiber/v2"
	session "github.com/sessiongo/session/core"

	fibersession "github.com/sessiongo/session/adapters/fiber"
)

// A fiber app whose handler reads and changes the session; WithAutoSave
// saves it after the handler, before fiber sends the response. With cookie
// storage the app reads request headers into ReadBufferSize bytes, room for
// a session of nine cookies.
func Example() {
	m, err := session.New(session.Config{Secret: "change me: a long random secret"})
	if err != nil {
		panic(err)
	}
	app := fiber.New(fiber.Config{ReadBufferSize: fibersession.ReadBufferSize, DisableStartupMessage: true})
	app.Use(fibersession.Middleware(m, fibersession.WithAutoSave()))
	app.Get("/", func(c *fiber.Ctx) error {
		s := fibersession.From(c)
		visits, _ := s.Get("visits").(float64)
		s.Set("visits", visits+1)
		return c.SendString(fmt.Sprintf("visit %v", visits+1))
	})

	cookie := ""
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := app.Test(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c := resp.Cookies()[0]
		cookie = c.Name + "=" + c.Value
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
}

// A route that uses a session without the middleware, through the
// adapter's Exchange: the Set-Cookie lines reach fiber's response with
// Flush.
func ExampleNewExchange() {
	m, err := session.New(session.Config{Secret: "change me: a long random secret"})
	if err != nil {
		panic(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/login", func(c *fiber.Ctx) error {
		ex := fibersession.NewExchange(c)
		defer ex.Flush()
		s := m.NewSession(ex)
		s.SetSubject("alice")
		if err := s.Save(); err != nil {
			return err
		}
		return c.SendString("signed in")
	})

	resp, err := app.Test(httptest.NewRequest("POST", "/login", nil))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Cookies()[0].Name)
	// Output: session
}
