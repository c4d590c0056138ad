package memcachedstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	session "github.com/sessiongo/session/core"
)

// app is a small net/http application on core: login, read, modify and
// logout, the session kept in the store under test.
type app struct {
	m *session.Manager
	h http.Handler
}

func newApp(t testing.TB, store session.Store) *app {
	t.Helper()
	m, err := session.New(session.Config{Store: store, Secret: "memcachedstore test secret", StoreMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, session.ErrNotFound):
			code = http.StatusUnauthorized
		case errors.Is(err, session.ErrStore):
			code = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), code)
	}
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.New(w, r)
		s.SetSubject(r.URL.Query().Get("user"))
		s.Set("user", r.URL.Query().Get("user"))
		if err := s.Save(); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		s, _, err := m.Open(w, r)
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintf(w, "%v %v", s.Get("user"), s.Get("n"))
	})
	mux.HandleFunc("/modify", func(w http.ResponseWriter, r *http.Request) {
		s, _, err := m.Open(w, r)
		if err != nil {
			fail(w, err)
			return
		}
		n, _ := s.Get("n").(float64)
		s.Set("n", n+1)
		if err := s.Save(); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := m.Destroy(w, r); err != nil {
			fail(w, err)
		}
	})
	return &app{m: m, h: mux}
}

// do sends one request with cookie (nil: none) and returns the status, the
// body and the session cookie set by the response (or cookie when none).
func (a *app) do(t testing.TB, ctx context.Context, path string, cookie *http.Cookie) (int, string, *http.Cookie) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == a.m.CookieName() {
			cookie = c
		}
	}
	return w.Code, w.Body.String(), cookie
}

// lifeCycle drives whole sessions through core and net/http against store:
// login, read, modify (a new record, the old one stale), listing and
// revoking the user's sessions, logout.
func lifeCycle(t *testing.T, store session.Store) {
	ctx := context.Background()
	a := newApp(t, store)
	expect := func(path string, c *http.Cookie, code int, body string) *http.Cookie {
		t.Helper()
		got, b, c2 := a.do(t, ctx, path, c)
		if got != code || (body != "" && b != body) {
			t.Fatalf("GET %s: %d %q, want %d %q", path, got, b, code, body)
		}
		return c2
	}
	c1 := expect("/login?user=alice", nil, 200, "")
	if c1 == nil || len(c1.Value) != 110 {
		t.Fatalf("login set cookie %v, want a 110-character header-only cookie", c1)
	}
	expect("/read", c1, 200, "alice <nil>")
	c2 := expect("/modify", c1, 200, "")
	if c2.Value == c1.Value {
		t.Fatal("modify did not issue a new cookie")
	}
	expect("/read", c2, 200, "alice 1")
	expect("/read", c1, 200, "alice <nil>") // the replaced record is stale, still readable

	list, err := a.m.Sessions(ctx, "default", "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("Sessions after login and modify = %v, %v; want one (the replaced key dropped)", list, err)
	}
	c3 := expect("/login?user=alice", nil, 200, "") // a second device
	expect("/login?user=bob", nil, 200, "")
	if list, err = a.m.Sessions(ctx, "default", "alice"); err != nil || len(list) != 2 {
		t.Fatalf("Sessions with two devices = %v, %v; want two", list, err)
	}
	n, err := a.m.RevokeSessions(ctx, "default", "alice")
	if err != nil || n != 2 {
		t.Fatalf("RevokeSessions = %d, %v; want 2", n, err)
	}
	expect("/read", c2, 401, "")
	expect("/read", c3, 401, "")
	if list, _ := a.m.Sessions(ctx, "default", "bob"); len(list) != 1 {
		t.Fatalf("revoking alice touched bob's sessions: %v", list)
	}

	c4 := expect("/login?user=carol", nil, 200, "")
	for i := 1; i <= 3; i++ {
		c4 = expect("/modify", c4, 200, "")
	}
	expect("/read", c4, 200, "carol "+strconv.Itoa(3))
	expect("/logout", c4, 200, "")
	expect("/read", c4, 401, "")
	if list, _ := a.m.Sessions(ctx, "default", "carol"); len(list) != 0 {
		t.Fatalf("Sessions after logout = %v, want none", list)
	}
}

func TestLifeCycle(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	lifeCycle(t, s)
}
