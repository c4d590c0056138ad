package session_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	session "github.com/sessiongo/session/core"
)

// A fixed clock and id source make the cookies of these examples
// reproducible; applications leave Clock and Rand nil.
func exampleConfig() session.Config {
	return session.Config{
		Secret: "correct horse battery staple",
		Clock:  func() time.Time { return time.Unix(1700000000, 0) },
		Rand:   bytes.NewReader(bytes.Repeat([]byte{7}, 1024)),
	}
}

func Example() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}

	// A login handler saves a new session.
	w := httptest.NewRecorder()
	s := m.New(w, httptest.NewRequest("POST", "/login", nil))
	s.SetSubject("alice")
	s.Set("role", "admin")
	if err := s.Save(); err != nil {
		log.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	fmt.Println(cookie.Name, len(cookie.Value), cookie.HttpOnly)

	// A later request carries the cookie back.
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	s, exists, refreshed, err := m.Start(httptest.NewRecorder(), r)
	fmt.Println(exists, refreshed, err, s.Subject(), s.Get("role"))
	// Output:
	// session 161 true
	// true true <nil> alice admin
}

func ExampleManager_Open() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session=forged")
	_, exists, err := m.Open(httptest.NewRecorder(), r)
	fmt.Println(exists, errors.Is(err, session.ErrInvalid), err)
	// Output: false true invalid session header
}

func ExampleSession_Save() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	s := m.New(w, httptest.NewRequest("GET", "/", nil))
	s.Set("cart", []any{"book"})
	if err := s.Save(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Header().Get("Set-Cookie"))
	// Output: session=AQAABwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcA8VNlAAAAAAAqAABFYsT8WVUUsqZPA7db4TMQAAAAiPSUc1_mIT_UY2Y3mfl6xAPMmZOO4lYLSRR4CMFWAceHnTEwtwc7dXyqwlzTrCog; Path=/; SameSite=Lax; Secure; HttpOnly
}

func ExampleSession_SetRemember() {
	cfg := exampleConfig()
	cfg.Remember = true // remember-me on; each login decides
	m, err := session.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	for _, rememberMe := range []bool{true, false} {
		w := httptest.NewRecorder()
		s := m.New(w, httptest.NewRequest("POST", "/login", nil))
		s.SetRemember(rememberMe) // from the form's "remember me" box
		if err := s.Save(); err != nil {
			log.Fatal(err)
		}
		var names []string
		for _, c := range w.Result().Cookies() {
			names = append(names, fmt.Sprint(c.Name, " max-age=", c.MaxAge))
		}
		fmt.Println(names)
	}
	// Output:
	// [session max-age=0 remember max-age=604800]
	// [session max-age=0]
}

func ExampleSession_Logout() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	s := m.New(w, httptest.NewRequest("GET", "/", nil))
	s.Set("user", "alice")
	s.Save() //nolint:errcheck

	r := httptest.NewRequest("POST", "/logout", nil)
	r.AddCookie(w.Result().Cookies()[0])
	w = httptest.NewRecorder()
	exists, loggedOut, err := m.Logout(w, r)
	fmt.Println(exists, loggedOut, err)
	fmt.Println(w.Header().Get("Set-Cookie"))
	// Output:
	// true true <nil>
	// session=; Path=/; SameSite=Lax; Secure; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0
}

func ExampleDefaultConfig() {
	c := session.DefaultConfig()
	fmt.Println(c.CookieName, c.IdlingTimeout, c.RollingTimeout, c.AbsoluteTimeout, c.RememberSafety)
	// Output: session 15m0s 1h0m0s 24h0m0s Medium
}

func ExampleSession_SetHeaders() {
	cfg := exampleConfig()
	cfg.ResponseHeaders = []string{"id", "timeout"}
	m, err := session.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	s := m.New(w, httptest.NewRequest("GET", "/", nil))
	s.Save() //nolint:errcheck
	s.SetHeaders()
	fmt.Println(w.Header().Get("Session-Id"), w.Header().Get("Session-Timeout"))
	// Output: BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc 900
}
