package demo

import (
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
	s, err := m.Open(w, httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	return s, w
}

func TestRender(t *testing.T) {
	var b strings.Builder
	if err := (Page{Framework: "test"}).Render(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `action="/login"`) || strings.Contains(b.String(), "Signed in") {
		t.Fatalf("page without a user is not the login form:\n%s", b.String())
	}

	s, _ := newSession(t)
	s.SetSubject("bob")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	p := Page{Framework: "test", User: "bob", Visits: 3, Notices: []any{"Welcome, <bob>."}, Session: s}
	if err := p.Render(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sessiongo demo (test)", "Signed in as <b>bob</b>", "Visits</dt><dd>3", "Welcome, &lt;bob&gt;.", s.ID(), "Remember me</dt><dd>true", `action="/logout"`} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("page lacks %q:\n%s", want, b.String())
		}
	}
	if !freshIdling.MatchString(b.String()) {
		t.Fatalf("page lacks an idling timeout of about 15m:\n%s", b.String())
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
		s, err := m.Open(w, httptest.NewRequest("POST", "/login", nil))
		if err != nil {
			t.Fatal(err)
		}
		s.SetSubject("ann")
		s.SetRemember(false)
		if err := s.Renew(); err != nil {
			t.Fatal(err)
		}
		for _, c := range w.Result().Cookies() {
			if c.Secure != tt.secure {
				t.Errorf("listening on %q: cookie %s Secure = %v, want %v", tt.addr, c.Name, c.Secure, tt.secure)
			}
		}
	}
}
