package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// The net/http middleware gives every request its session; with
// WithAutoSave a changed session is saved just before the response headers
// go out, even though the handler wrote its body without calling Save.
func ExampleManager_Middleware() {
	m, err := session.New(session.Config{Secret: "change me: a long random secret"})
	if err != nil {
		panic(err)
	}
	h := m.Middleware(session.WithAutoSave())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		visits, _ := s.Get("visits").(float64)
		s.Set("visits", visits+1)
		fmt.Fprintf(w, "visit %v", visits+1)
	}))

	cookie := ""
	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		c := w.Result().Cookies()[0]
		cookie = c.Name + "=" + c.Value
		fmt.Println(w.Body.String())
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Adapters for frameworks that are not net/http drive the same work through
// a Middleware and their own adapter.Exchange: Begin before the handler,
// Commit just before the response headers go out, Finish after the handler.
func ExampleMiddleware_Begin() {
	m, err := session.New(session.Config{Secret: "change me: a long random secret"})
	if err != nil {
		panic(err)
	}
	mw := session.NewMiddleware(m, session.WithAutoSave())

	w := httptest.NewRecorder()
	ex := adapter.NewHTTP(w, httptest.NewRequest("GET", "/", nil)) // a framework's Exchange
	scope, err := mw.Begin(ex)
	if err != nil {
		panic(err) // a store outage: report it, skip the handler
	}
	scope.Session().Set("user", "alice") // the handler
	scope.Commit()                       // the framework's before-response hook
	if err := scope.Finish(); err != nil {
		panic(err)
	}
	fmt.Println(len(w.Header().Values("Set-Cookie")), "cookie")
	// Output: 1 cookie
}
