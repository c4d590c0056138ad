package session

import (
	"errors"
	"testing"
	"time"
)

// A positive timeout shorter than a second must not turn into 0, which the
// wire format reads as "disabled".
func TestSubSecondDurationsDoNotDisable(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"absolute", Config{AbsoluteTimeout: 500 * time.Millisecond}, ErrExpired},
		{"rolling", Config{RollingTimeout: 500 * time.Millisecond}, ErrExpired},
		{"idling", Config{IdlingTimeout: 500 * time.Millisecond}, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			h.login(map[string]any{"k": "v"}, "sam")
			h.clock.Advance(5 * time.Second)
			if _, err := h.open(); !errors.Is(err, tt.want) {
				t.Fatalf("open 5s after save with a %s timeout of 500ms = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
}

// Cookie names whose chunk names collide (or that nginx's case-insensitive
// lookup cannot tell apart) are configuration errors.
func TestCookieNamesMustNotCollide(t *testing.T) {
	tests := []struct {
		name           string
		cookie, rembr  string
		wantConfigFail bool
	}{
		{"remember is a chunk of session", "s", "s2", true},
		{"session is a chunk of remember", "r9", "r", true},
		{"case only", "sid", "SID", true},
		{"distinct", "session", "remember", false},
		{"digit that is no chunk", "s", "s1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Secret: "s", CookieName: tt.cookie, RememberCookieName: tt.rembr})
			if got := errors.Is(err, ErrInvalidConfig); got != tt.wantConfigFail {
				t.Fatalf("New(%q, %q) = %v, want config error %v", tt.cookie, tt.rembr, err, tt.wantConfigFail)
			}
		})
	}
}

// EnforceSameSubject applies to the remember cookie re-issued when a session
// is restored from it, as to every other save.
func TestEnforceSameSubjectOnRememberRestore(t *testing.T) {
	clock := newTestClock()
	jar := newHarness(t, Config{})
	manager := func(aud string, enforce bool) *Manager {
		return mustNew(t, Config{Secret: "s", Audience: aud, Remember: true, RememberSafety: "None", EnforceSameSubject: enforce, Clock: clock.Now})
	}
	for _, e := range []struct{ aud, subject string }{{"a", "alice"}, {"b", "bob"}} {
		r := newRecorder(jar.cookieHeader())
		s := manager(e.aud, false).NewSession(r)
		s.Open() //nolint:errcheck // a missing audience is expected
		s.SetSubject(e.subject)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		jar.commit(r)
	}
	delete(jar.jar, "session")
	r := newRecorder(jar.cookieHeader())
	s := manager("b", true).NewSession(r)
	if err := s.Open(); err != nil {
		t.Fatalf("restore: %v", err)
	}
	jar.commit(r)
	if got := s.Audiences(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("session audiences after restore = %v, want [b]", got)
	}
	// alice's entry must be gone from the re-issued remember cookie too.
	delete(jar.jar, "session")
	r = newRecorder(jar.cookieHeader())
	s = manager("a", false).NewSession(r)
	if err := s.Open(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore of audience a from bob's remember cookie = %v (subject %q), want ErrNotFound", err, s.Subject())
	}
}
