package echosession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"
	session "github.com/sessiongo/session/core"

	echosession "github.com/sessiongo/session/adapters/echo"
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
	e.GET("/", func(c echo.Context) error {
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
