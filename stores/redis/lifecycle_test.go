package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// Whole session life cycles through core run in TestConformance (the store
// suite's life-cycle rule, and the adapter suite over core's net/http
// middleware) and TestSharedServer; the app below serves the benchmarks and
// the failure tests.

// app is the smallest application on core that the tests and benchmarks
// need: log in, read and modify a session kept in store.
type app struct{ m *session.Manager }

func newApp(t testing.TB, store session.Store) *app {
	t.Helper()
	m, err := session.New(session.Config{Store: store, Secret: "redisstore test secret", StoreMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	return &app{m: m}
}

// serve runs h on a request carrying cookie (nil: none) and returns h's
// error and the session cookie the response set (cookie when none).
func (a *app) serve(ctx context.Context, cookie *http.Cookie, h func(w http.ResponseWriter, r *http.Request) error) (*http.Cookie, error) {
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	err := h(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == a.m.CookieName() {
			cookie = c
		}
	}
	return cookie, err
}

// login saves a new session of user and returns its cookie.
func (a *app) login(ctx context.Context, user string) (*http.Cookie, error) {
	return a.serve(ctx, nil, func(w http.ResponseWriter, r *http.Request) error {
		s, err := a.m.Open(w, r)
		if err != nil {
			return err
		}
		s.SetSubject(user)
		s.Set("user", user)
		return s.Save()
	})
}

// read opens the session of cookie and returns "user n".
func (a *app) read(ctx context.Context, cookie *http.Cookie) (string, error) {
	var body string
	_, err := a.serve(ctx, cookie, func(w http.ResponseWriter, r *http.Request) error {
		s, err := a.m.Open(w, r)
		if err == nil && !s.Exists() {
			err = session.ErrNotFound // no usable session
		}
		body = fmt.Sprintf("%v %v", s.Get("user"), s.Get("n"))
		return err
	})
	return body, err
}

// modify opens the session of cookie, adds one to n and saves it under a
// new key; it returns the new cookie.
func (a *app) modify(ctx context.Context, cookie *http.Cookie) (*http.Cookie, error) {
	return a.serve(ctx, cookie, func(w http.ResponseWriter, r *http.Request) error {
		s, err := a.m.Open(w, r)
		if err != nil {
			return err
		}
		if !s.Exists() {
			return session.ErrNotFound // no usable session
		}
		n, _ := s.Get("n").(float64)
		s.Set("n", n+1)
		return s.Save()
	})
}

// TestSharedServer runs two stores, each with its own client of the same
// server and the same prefix, as two instances of an application behind a
// load balancer (conformance.TestSharedStore).
func TestSharedServer(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := connect(t, m)
			prefix := testPrefix(t, c)
			conformance.TestSharedStore(t,
				mustNew(t, c, redisstore.WithPrefix(prefix)),
				mustNew(t, connect(t, m), redisstore.WithPrefix(prefix)))
		})
	}
}
