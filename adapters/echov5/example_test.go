package echosession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v5"
	session "github.com/sessiongo/session/core"

	echosession "github.com/sessiongo/session/adapters/echov5"
)

// An echo instance whose handler reads and changes the session;
// WithAutoSave saves it before the response goes out.
func Example() {
	m, err := session.New(session.Config{Secret: "change me: a long random secret"})
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.Use(echosession.Middleware(m, echosession.WithAutoSave()))
	e.GET("/", func(c *echo.Context) error {
		s := echosession.From(c)
		visits, _ := s.Get("visits").(float64)
		s.Set("visits", visits+1)
		return c.String(http.StatusOK, fmt.Sprintf("visit %v", visits+1))
	})

	cookie := ""
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		c := w.Result().Cookies()[0]
		cookie = c.Name + "=" + c.Value
		fmt.Println(w.Body.String())
	}
	// Output:
	// visit 1
	// visit 2
}

// Service code takes a context.Context: the request's context carries the
// session, for session.FromContext.
func Example_serviceCode() {
	m, err := session.New(session.Config{Secret: "change me: a long random secret"})
	if err != nil {
		panic(err)
	}
	greeting := func(ctx context.Context) string {
		s := session.FromContext(ctx)
		switch {
		case s == nil:
			return "no session: is the middleware installed?"
		case s.Subject() == "":
			return "hello, stranger"
		}
		return "hello, " + s.Subject()
	}
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.GET("/", func(c *echo.Context) error {
		return c.String(http.StatusOK, greeting(c.Request().Context()))
	})

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Body.String())
	// Output: hello, stranger
}
