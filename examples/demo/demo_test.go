package demo

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
)

func TestRender(t *testing.T) {
	var b strings.Builder
	if err := (Page{Framework: "test", Notices: []string{"Unknown <user>."}}).Render(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), loginForm) || field(b.String(), "user") != "" || !strings.Contains(b.String(), "Unknown &lt;user&gt;.") {
		t.Fatalf("page without a user is not the login form with its notice:\n%s", b.String())
	}

	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(env.Configure(session.Config{Secret: TestSecret, Remember: true, Revocation: env.Backend}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Open(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	s.SetSubject("bob")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	since := time.Date(2019, time.March, 14, 15, 9, 26, 535897932, time.FixedZone("", 2*60*60))
	p := Page{Framework: "test", User: "<bob>", Name: "Bob <Hope>", UserID: 9007199254740993, Since: since,
		Roles: []string{"admin", "editor"}, Visits: 3, Notices: []string{"Welcome, <bob>."}, Session: s}
	if err := p.Render(&b); err != nil {
		t.Fatal(err)
	}
	body := b.String()
	for _, f := range []struct{ id, want string }{
		{"user", "<bob>"},
		{"name", "Bob <Hope>"},
		{"user-id", "9007199254740993"},
		{"since", "2019-03-14T15:09:26.535897932+02:00"},
		{"roles", "admin, editor"},
		{"visits", "3"},
		{"session-id", s.ID()},
		{"remaining", "idling 15m0s, rolling 1h0m0s, absolute 24h0m0s"},
		{"remember", "true"},
	} {
		if got := field(body, f.id); got != f.want {
			t.Errorf("%s = %q, want %q", f.id, got, f.want)
		}
	}
	if strings.Contains(body, "<bob>") {
		t.Error("the page does not escape the user")
	}
	for _, want := range []string{"sessiongo demo (test)", "Welcome, &lt;bob&gt;.", `action="/logout"`, `action="/logout-everywhere"`, `action="/visit"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func TestLoopback(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.2:8080", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"192.0.2.1:8080", false},
		{"example.com:443", false},
		{"localhost.example.com:80", false},
		{"no port", false},
		{"127.0.0.1", false},
	} {
		if got := Loopback(tt.addr); got != tt.want {
			t.Errorf("Loopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// TestBackend checks that the Backend fails what it is told to, with an
// error naming OutageHost, and passes the rest to its store.
func TestBackend(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	for _, tt := range []struct {
		reads, writes bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		env.Backend.Fail(tt.reads, tt.writes)
		_, rerr := env.Backend.Revoked(t.Context(), []string{"k"}, now)
		werr := env.Backend.Revoke(t.Context(), nil, now)
		if (rerr != nil) != tt.reads || (werr != nil) != tt.writes {
			t.Errorf("Fail(%v, %v): Revoked err %v, Revoke err %v", tt.reads, tt.writes, rerr, werr)
		}
		for _, err := range []error{rerr, werr} {
			if err != nil && !strings.Contains(err.Error(), OutageHost) {
				t.Errorf("outage error %q does not name %s", err, OutageHost)
			}
		}
	}
}
