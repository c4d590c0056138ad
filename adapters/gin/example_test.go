package ginsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	session "github.com/sessiongo/session/core"

	ginsession "github.com/sessiongo/session/adapters/gin"
)

// A gin engine whose handler reads and changes the session; WithAutoSave
// saves it before the response goes out.
func Example() {
	m, err := session.New(session.Config{Secret: "change me: a long random secret"})
	if err != nil {
		panic(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginsession.Middleware(m, ginsession.WithAutoSave()))
	r.GET("/", func(c *gin.Context) {
		s := ginsession.From(c)
		visits, _ := s.Get("visits").(float64)
		s.Set("visits", visits+1)
		c.String(http.StatusOK, "visit %v", visits+1)
	})

	cookie := ""
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		c := w.Result().Cookies()[0]
		cookie = c.Name + "=" + c.Value
		fmt.Println(w.Body.String())
	}
	// Output:
	// visit 1
	// visit 2
}
