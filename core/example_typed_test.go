package session_test

import (
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	session "github.com/sessiongo/session/core"
)

type Cart struct {
	Items []string `json:"items"`
	Total int64    `json:"total"`
}

// Get[T] reads a value with the type it was set with, in the request that
// set it and in every later one; Session.Get returns what encoding/json
// gives an any, float64 for a number read from the cookie.
func ExampleGet() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	s, err := m.Open(w, httptest.NewRequest("POST", "/", nil))
	if err != nil {
		log.Fatal(err)
	}
	s.Set("id", int64(9007199254740993)) // beyond 2^53: a float64 cannot hold it
	s.Set("seen", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	s.Set("cart", Cart{Items: []string{"book"}, Total: 12})
	if err := s.Save(); err != nil {
		log.Fatal(err)
	}

	// The next request.
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	s, err = m.Open(httptest.NewRecorder(), r)
	if err != nil {
		log.Fatal(err)
	}
	id, err := session.Get[int64](s, "id")
	fmt.Println(id, err)
	seen, _ := session.Get[time.Time](s, "seen")
	fmt.Println(seen)
	cart, _ := session.Get[Cart](s, "cart")
	fmt.Printf("%+v\n", cart)
	fmt.Printf("%T %T\n", s.Get("id"), s.Get("cart"))

	_, err = session.Get[int](s, "missing")
	fmt.Println(errors.Is(err, session.ErrNotFound))
	_, err = session.Get[int](s, "seen")
	fmt.Println(errors.Is(err, session.ErrInvalid))
	// Output:
	// 9007199254740993 <nil>
	// 2024-05-01 12:00:00 +0000 UTC
	// {Items:[book] Total:12}
	// float64 map[string]interface {}
	// true
	// true
}

func ExampleSession_Decode() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	s, err := m.Open(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if err != nil {
		log.Fatal(err)
	}
	s.Set("cart", Cart{Items: []string{"book", "pen"}})
	var cart Cart
	if err := s.Decode("cart", &cart); err != nil {
		log.Fatal(err)
	}
	fmt.Println(cart.Items)
	// Output: [book pen]
}

// A flash message is added before a redirect and read once by the page the
// redirect leads to.
func ExampleSession_Flash() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	s, err := m.Open(w, httptest.NewRequest("POST", "/profile", nil))
	if err != nil {
		log.Fatal(err)
	}
	s.Flash("notice", "Profile saved")
	if err := s.Save(); err != nil {
		log.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]

	for range 2 { // the page after the redirect, then a reload
		r := httptest.NewRequest("GET", "/profile", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		s, err := m.Open(w, r)
		if err != nil {
			log.Fatal(err)
		}
		notices, err := session.PopFlashes[string](s, "notice")
		fmt.Println(notices, err)
		if err := s.Save(); err != nil { // the messages are gone once saved
			log.Fatal(err)
		}
		cookie = w.Result().Cookies()[0]
	}
	// Output:
	// [Profile saved] <nil>
	// [] <nil>
}
