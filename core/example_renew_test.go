package session_test

import (
	"context"
	"errors"
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
		s, _, _ := m.Open(w, r) // a new session when there is none
		// ... check the credentials, then:
		s.SetSubject("alice")
		if err := s.Renew(); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
		}
	}
	logout := func(w http.ResponseWriter, r *http.Request) {
		if s, _, err := m.Open(w, r); err == nil {
			s.Destroy() //nolint:errcheck // the cookie is expired either way
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
	open := func(cookie *http.Cookie) (*session.Session, error) {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookie)
		s, _, err := m.Open(httptest.NewRecorder(), r)
		return s, err
	}

	visitor := serve(func(w http.ResponseWriter, r *http.Request) {
		s := m.New(w, r)
		s.Set("cart", []string{"book"})
		s.Save() //nolint:errcheck
	}, nil)
	user := serve(login, visitor)

	_, err = open(visitor)
	fmt.Println("visitor's cookie:", errors.Is(err, session.ErrNotFound))
	s, err := open(user)
	cart, _ := session.Get[[]string](s, "cart")
	fmt.Println("new cookie:", err, s.Subject(), cart)
	list, _ := m.Sessions(context.Background(), "alice")
	fmt.Println("alice's sessions:", len(list))

	serve(logout, user)
	_, err = open(user)
	fmt.Println("after logout:", errors.Is(err, session.ErrNotFound))
	// Output:
	// visitor's cookie: true
	// new cookie: <nil> alice [book]
	// alice's sessions: 1
	// after logout: true
}
