package chisession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"
	session "github.com/sessiongo/session/core"

	chisession "github.com/sessiongo/session/adapters/chi"
)

// A chi router whose handlers read and change the session; WithAutoSave
// saves it before the response goes out.
func Example() {
	m, err := session.New(session.Config{Secret: "change me: a long random secret"})
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Use(chisession.Middleware(m, chisession.WithAutoSave()))
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		s := chisession.From(r)
		visits, _ := s.Get("visits").(float64)
		s.Set("visits", visits+1)
		fmt.Fprintf(w, "visit %v", visits+1)
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
