package conformance

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// TestSharedStore checks what a server-backed store shows only when it is
// shared: a and b reach the same server with the same key naming, as two
// instances of an application behind a load balancer do, each with its own
// client. A session saved through a must open through b; a change saved
// through b must be what a then reads; and when the stores keep a subject
// index, revoking the subject's sessions through b must end the session for
// a too. The sessions run on the real clock (the server's).
func TestSharedStore(t *testing.T, a, b session.Store) {
	t.Helper()
	ma, mb := sharedManager(t, a), sharedManager(t, b)
	var suffix [6]byte
	rand.Read(suffix[:])
	user := "shared-" + hex.EncodeToString(suffix[:])

	cookie := sharedServe(t, ma, "", "a login through store a", func(s *session.Session) error {
		s.SetSubject(user)
		s.Set("user", user)
		return s.Save()
	})
	var got any
	sharedServe(t, mb, cookie, "a session saved through store a, opened through store b", func(s *session.Session) error {
		got = s.Get("user")
		return nil
	})
	if got != user {
		t.Fatalf("a session saved through store a reads %v through store b, want %q", got, user)
	}
	changed := sharedServe(t, mb, cookie, "a change through store b", func(s *session.Session) error {
		s.Set("n", 1.0)
		return s.Save()
	})
	if changed == cookie {
		t.Fatal("a save through store b sent no new cookie")
	}
	sharedServe(t, ma, changed, "a session saved through store b, opened through store a", func(s *session.Session) error {
		got = s.Get("n")
		return nil
	})
	if got != 1.0 {
		t.Fatalf("a change saved through store b reads n = %v through store a, want 1", got)
	}

	if _, ok := b.(store.SubjectIndex); !ok {
		return
	}
	n, err := mb.RevokeSessions(t.Context(), user)
	if err != nil || n < 1 {
		t.Fatalf("RevokeSessions through store b = %d, %v; want at least the live session", n, err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", changed)
	if _, err := openSession(ma, httptest.NewRecorder(), r); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("a session revoked through store b opens through store a with %v, want ErrNotFound", err)
	}
}

func sharedManager(t *testing.T, st session.Store) *session.Manager {
	t.Helper()
	m, err := session.New(session.Config{Secret: "sessiongo conformance shared store", Store: st, StoreMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sharedServe opens the session of cookie (a Cookie header value, "" for
// none) in m, runs h on it and returns the cookie the response set, or
// cookie when it set none; step names the step in failures.
func sharedServe(t *testing.T, m *session.Manager, cookie, step string, h func(*session.Session) error) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(t.Context())
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	s, err := openSession(m, w, r)
	if err != nil && cookie != "" {
		t.Fatalf("%s: open: %v", step, err)
	}
	if err := h(s); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == m.CookieName() {
			return c.Name + "=" + c.Value
		}
	}
	return cookie
}
