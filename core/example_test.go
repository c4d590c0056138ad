package session_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
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

	// A login handler saves a new session: the request has none yet, so
	// Open gives a new, empty one (and no error).
	w := httptest.NewRecorder()
	s, err := m.Open(w, httptest.NewRequest("POST", "/login", nil))
	if err != nil {
		log.Fatal(err) // a store outage: reply 500
	}
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
	s, err = m.Start(httptest.NewRecorder(), r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Exists(), s.Subject(), s.Get("role"))
	// Output:
	// session 161 true
	// true alice admin
}

// A request without a usable session (here a forged cookie) is not an
// error: Open returns a new, empty session, which does not exist until it
// is saved. The error is for what the caller must handle, such as a store
// outage.
func ExampleManager_Open() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session=forged")
	s, err := m.Open(httptest.NewRecorder(), r)
	if err != nil {
		log.Fatal(err) // a store outage: reply 500
	}
	fmt.Println(s.Exists(), s.Get("user"))
	// Output: false <nil>
}

// Session.Open, the low-level call behind Manager.Open, says why a request
// has no usable session, with the reference library's message.
func ExampleSession_Open() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session=forged")
	s := m.NewSession(adapter.NewHTTP(httptest.NewRecorder(), r))
	err = s.Open()
	fmt.Println(s.Exists(), errors.Is(err, session.ErrInvalid), err)
	// Output: false true invalid session header
}

func ExampleSession_Save() {
	m, err := session.New(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	s, err := m.Open(w, httptest.NewRequest("GET", "/", nil))
	if err != nil {
		log.Fatal(err)
	}
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
		s, err := m.Open(w, httptest.NewRequest("POST", "/login", nil))
		if err != nil {
			log.Fatal(err)
		}
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
	s, err := m.Open(w, httptest.NewRequest("GET", "/", nil))
	if err != nil {
		log.Fatal(err)
	}
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		log.Fatal(err)
	}

	r := httptest.NewRequest("POST", "/logout", nil)
	r.AddCookie(w.Result().Cookies()[0])
	w = httptest.NewRecorder()
	if err := m.Logout(w, r); err != nil {
		log.Fatal(err) // a store outage; no session is not an error
	}
	fmt.Println(w.Header().Get("Set-Cookie"))
	// Output:
	// session=; Path=/; SameSite=Lax; Secure; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0
}

func ExampleDefaultConfig() {
	c := session.DefaultConfig()
	fmt.Println(c.CookieName, c.IdlingTimeout, c.RollingTimeout, c.AbsoluteTimeout, c.RememberSafety)
	// Output: session 15m0s 1h0m0s 24h0m0s Medium
}

func ExampleSession_SetHeaders() {
	cfg := exampleConfig()
	cfg.ResponseHeaders = []session.Property{session.PropertyID, session.PropertyTimeout}
	m, err := session.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	s, err := m.Open(w, httptest.NewRequest("GET", "/", nil))
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Save(); err != nil {
		log.Fatal(err)
	}
	s.SetHeaders() //nolint:errcheck // the session exists
	fmt.Println(w.Header().Get("Session-Id"), w.Header().Get("Session-Timeout"))
	// Output: BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc 900
}
