package demo

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	session "github.com/sessiongo/session/core"
)

func newSession(t *testing.T) (*session.Session, *httptest.ResponseRecorder) {
	t.Helper()
	m, err := NewManager(TestSecret, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	return m.New(w, httptest.NewRequest("GET", "/", nil)), w
}

func TestNewView(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		reason string
	}{
		{"none", nil, ""},
		{"not found", fmt.Errorf("open: %w", session.ErrNotFound), ""},
		{"expired", fmt.Errorf("open: %w", session.ErrExpired), "expired"},
		{"store", fmt.Errorf("open: %w: dial tcp: lookup db.internal.example", session.ErrStore), "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSession(t)
			v := NewView("test", s, tt.err)
			if v.Exists || !strings.Contains(v.Reason, tt.reason) || (tt.reason == "") != (v.Reason == "") || strings.Contains(v.Reason, "internal.example") {
				t.Fatalf("view = %+v, want no session and a reason containing %q", v, tt.reason)
			}
			var b strings.Builder
			if err := v.Render(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), `action="/login"`) || strings.Contains(b.String(), "No session") != (tt.reason != "") {
				t.Fatalf("page for %+v:\n%s", v, b.String())
			}
		})
	}
}

func TestSteps(t *testing.T) {
	s, w := newSession(t)
	if err := Visit(s); err != nil || len(w.Result().Cookies()) != 0 {
		t.Fatalf("Visit without a session = %v, cookies %v; want a no-op", err, w.Result().Cookies())
	}
	if err := Logout(s); err != nil {
		t.Fatalf("Logout without a session = %v, want nil", err)
	}
	if err := Login(s, "bob", false); err != nil {
		t.Fatal(err)
	}
	if err := Visit(s); err != nil {
		t.Fatal(err)
	}
	v := NewView("test", s, nil)
	if !v.Exists || v.Subject != "bob" || v.Remember || (v.Idling != "15m0s" && v.Idling != "14m59s") || v.Data["visits"] != 1.0 {
		t.Fatalf("view after login and visit = %+v", v)
	}
	var b strings.Builder
	if err := v.Render(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sessiongo demo (test)", "Signed in as <b>bob</b>", "visits:1", "Remember me</dt><dd>false"} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("page lacks %q:\n%s", want, b.String())
		}
	}
	if err := Logout(s); err != nil {
		t.Fatal(err)
	}
	if s.Exists() {
		t.Fatal("session exists after Logout")
	}
	if err := Logout(s); err != nil && !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("second Logout = %v, want a no-op", err)
	}
}

// TestNewManagerSecure checks that cookies are Secure but on a loopback
// address, where the demo serves plain HTTP.
func TestNewManagerSecure(t *testing.T) {
	for _, tt := range []struct {
		addr   string
		secure bool
	}{
		{"127.0.0.1:8080", false},
		{"[::1]:8080", false},
		{"localhost:8080", false},
		{":8080", true},
		{"0.0.0.0:8080", true},
		{"192.0.2.1:8080", true},
		{"example.com:443", true},
		{"no port", true},
	} {
		m, err := NewManager(TestSecret, tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		if err := Login(m.New(w, httptest.NewRequest("POST", "/login", nil)), "ann", false); err != nil {
			t.Fatal(err)
		}
		for _, c := range w.Result().Cookies() {
			if c.Secure != tt.secure {
				t.Errorf("listening on %q: cookie %s Secure = %v, want %v", tt.addr, c.Name, c.Secure, tt.secure)
			}
		}
	}
}
