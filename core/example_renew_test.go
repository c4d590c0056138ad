package session_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	session "github.com/sessiongo/session/core"
)

// The login and logout recipe. At login, Renew replaces the visitor's
// session with a new one that keeps its data: the cookie the visitor had
// (or that an attacker planted) no longer opens. At logout, Destroy ends
// the session.
func ExampleSession_Renew() {
	st, err := session.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{
		Secret:        "change me: a long random secret",
		Store:         st,
		StoreMetadata: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	login := func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Open(w, r) // a new session when there is none
		if err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		// ... check the credentials, then:
		s.SetSubject("alice")
		if err := s.Renew(); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
		}
	}
	logout := func(w http.ResponseWriter, r *http.Request) {
		// No session is not an error: there is nothing to destroy.
		if err := m.Destroy(w, r); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
		}
	}
	serve := func(h http.HandlerFunc, cookie *http.Cookie) *http.Cookie {
		r := httptest.NewRequest("POST", "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h(w, r)
		return w.Result().Cookies()[0]
	}
	open := func(cookie *http.Cookie) *session.Session {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookie)
		s, err := m.Open(httptest.NewRecorder(), r)
		if err != nil {
			log.Fatal(err)
		}
		return s
	}

	visitor := serve(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Open(w, r)
		if err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		s.Set("cart", []string{"book"})
		if err := s.Save(); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
		}
	}, nil)
	user := serve(login, visitor)

	fmt.Println("visitor's cookie opens:", open(visitor).Exists())
	s := open(user)
	cart, _ := session.Get[[]string](s, "cart")
	fmt.Println("new cookie opens:", s.Exists(), s.Subject(), cart)
	list, _ := m.Sessions(context.Background(), "alice")
	fmt.Println("alice's sessions:", len(list))

	serve(logout, user)
	fmt.Println("after logout, opens:", open(user).Exists())
	// Output:
	// visitor's cookie opens: false
	// new cookie opens: true alice [book]
	// alice's sessions: 1
	// after logout, opens: false
}
