package session

import (
	"errors"
	"testing"
	"time"
)

func TestTouchThreshold(t *testing.T) {
	tests := []struct {
		threshold time.Duration
		idle      time.Duration
		touched   bool
	}{
		{0, 61 * time.Second, true}, // default 60 s
		{0, 60 * time.Second, false},
		{10 * time.Second, 11 * time.Second, true},
		{10 * time.Second, 10 * time.Second, false},
		{Disabled, time.Second, true}, // off: every idle second touches
	}
	for _, tt := range tests {
		h := newHarness(t, Config{TouchThreshold: tt.threshold})
		h.login(map[string]any{"k": "v"}, "")
		h.clock.Advance(tt.idle)
		s, r := h.request()
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		id := s.ID()
		if err := s.Refresh(); err != nil {
			t.Fatal(err)
		}
		if got := len(r.setCookies) == 1; got != tt.touched {
			t.Errorf("threshold %v, idle %v: touched = %v, want %v", tt.threshold, tt.idle, got, tt.touched)
		}
		if s.ID() != id {
			t.Errorf("a touch changed the session id")
		}
	}
}

func TestRememberTimeouts(t *testing.T) {
	h := newHarness(t, Config{
		Remember:                true,
		RememberSafety:          "None",
		RememberRollingTimeout:  time.Hour,
		RememberAbsoluteTimeout: 3 * time.Hour,
	})
	h.login(map[string]any{"k": "v"}, "")
	if got := h.jar["remember"]; got == "" {
		t.Fatal("no remember cookie")
	}
	for i, step := range []struct {
		advance time.Duration
		ok      bool
	}{
		{50 * time.Minute, true},  // within the rolling timeout: restored and renewed
		{50 * time.Minute, true},  // renewed above
		{61 * time.Minute, false}, // rolling timeout exceeded
	} {
		h.clock.Advance(step.advance)
		delete(h.jar, "session")
		s, r := h.request()
		err := s.Open()
		if (err == nil) != step.ok {
			t.Fatalf("step %d: open = %v, want ok %v", i, err, step.ok)
		}
		h.commit(r)
	}
	// absolute: renew every 50 minutes until 3 hours have passed
	h = newHarness(t, Config{Remember: true, RememberSafety: "None", RememberRollingTimeout: time.Hour, RememberAbsoluteTimeout: 3 * time.Hour})
	h.login(map[string]any{}, "")
	var err error
	for elapsed := time.Duration(0); elapsed <= 3*time.Hour; elapsed += 50 * time.Minute {
		h.clock.Advance(50 * time.Minute)
		delete(h.jar, "session")
		s, r := h.request()
		err = s.Open()
		h.commit(r)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the remember absolute timeout, open = %v, want the session cookie's ErrNotFound", err)
	}
}

func TestDefaultSubject(t *testing.T) {
	h := newHarness(t, Config{Subject: "anonymous"})
	s, _ := h.request()
	if s.Subject() != "anonymous" {
		t.Fatalf("subject = %q, want the configured default", s.Subject())
	}
	if v, ok := s.Property("subject"); !ok || v != "anonymous" {
		t.Fatalf("subject property = %q %v", v, ok)
	}
}

func TestCookiePrefixAndAttributes(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{CookiePrefix: "__Host-", CookieDomain: "example.com", CookiePath: "/x"}, "__Host-session=; Path=/; SameSite=Lax; Secure; HttpOnly"},
		{Config{CookiePrefix: "__Secure-", CookiePath: "/x"}, "__Secure-session=; Path=/x; SameSite=Lax; Secure; HttpOnly"},
		{Config{CookieSameSite: "None", DisableHTTPOnly: true}, "session=; Path=/; SameSite=None; Secure"},
		{Config{CookieSameSite: "Strict", CookiePriority: "Low", CookiePartitioned: true}, "session=; Path=/; SameSite=Strict; Priority=Low; Partitioned; Secure; HttpOnly"},
		{Config{CookieDomain: "localhost"}, "session=; Path=/; SameSite=Lax; Secure; HttpOnly"},
		{Config{DisableSecure: true}, "session=; Path=/; SameSite=Lax; HttpOnly"},
		{Config{CookieSameParty: true}, "session=; Path=/; SameSite=Lax; SameParty; Secure; HttpOnly"},
	}
	for _, tt := range tests {
		h := newHarness(t, tt.cfg)
		h.login(map[string]any{}, "")
		s, r := h.request()
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		if err := s.Destroy(); err != nil {
			t.Fatal(err)
		}
		if want := tt.want + expiredAttrs; r.setCookies[0] != want {
			t.Errorf("%+v: Set-Cookie = %q, want %q", tt.cfg, r.setCookies[0], want)
		}
	}
}
