package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
)

const mintTime = 1700000000

// mint runs new --json and decodes what it printed.
func mint(t testing.TB, args ...string) newReport {
	t.Helper()
	out := mustRun(t, "", append([]string{"new", "--json", "--now", "1700000000"}, args...)...)
	var r newReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("new --json printed %q: %v", out, err)
	}
	return r
}

// coreOpen opens a Cookie header with core, at time at.
func coreOpen(t testing.TB, cfg session.Config, cookies string, at int64, props *exchange) (*session.Session, *exchange, error) {
	t.Helper()
	cfg.Clock = func() time.Time { return time.Unix(at, 0) }
	m, err := session.New(cfg)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	ex := &exchange{ctx: context.Background(), cookies: cookies}
	if props != nil {
		ex.remoteAddr, ex.scheme, ex.userAgent = props.remoteAddr, props.scheme, props.userAgent
	}
	s := m.NewSession(ex)
	return s, ex, s.Open()
}

// TestNewOpensInCore mints sessions with the binary and opens them with
// core, the library applications use.
func TestNewOpensInCore(t *testing.T) {
	t.Parallel()
	ikm := make([]byte, 32)
	rand.Read(ikm)
	big := make([]byte, 6000)
	rand.Read(big)
	bigValue := base64.RawURLEncoding.EncodeToString(big) // incompressible: chunks
	tests := []struct {
		name     string
		args     []string
		cfg      session.Config
		props    *exchange
		cookies  int // Set-Cookie lines new prints
		data     map[string]any
		subject  string
		audience string
	}{
		{
			name:    "secret, subject and audience",
			args:    []string{"--secret", "s3cret", "--data", `{"user":"alice","n":1,"roles":["a","b"]}`, "--subject", "alice", "--audience", "app"},
			cfg:     session.Config{Secret: "s3cret", Audience: "app"},
			cookies: 1, data: map[string]any{"user": "alice", "n": 1.0, "roles": []any{"a", "b"}}, subject: "alice", audience: "app",
		},
		{
			name:    "ikm, bound to ip and user agent",
			args:    []string{"--ikm-hex", hex.EncodeToString(ikm), "--bind", "ip,user-agent", "--remote-addr", "192.0.2.7", "--user-agent", "curl/8", "--data", `{"k":"v"}`},
			cfg:     session.Config{IKM: ikm, Bind: []session.Binding{session.BindIP, session.BindUserAgent}},
			props:   &exchange{remoteAddr: "192.0.2.7", userAgent: "curl/8"},
			cookies: 1, data: map[string]any{"k": "v"}, audience: "default",
		},
		{
			name:    "remember cookie",
			args:    []string{"--secret", "s", "--remember", "--remember-safety", "Low", "--data", `{"k":"v"}`, "--subject", "bob"},
			cfg:     session.Config{Secret: "s", Remember: true, RememberSafety: "Low"},
			cookies: 2, data: map[string]any{"k": "v"}, subject: "bob", audience: "default",
		},
		{
			name:    "chunked",
			args:    []string{"--secret", "s", "--data", `{"big":"` + bigValue + `"}`},
			cfg:     session.Config{Secret: "s"},
			cookies: 3, data: map[string]any{"big": bigValue}, audience: "default",
		},
		{
			name:    "host prefix and custom names",
			args:    []string{"--secret", "s", "--cookie-prefix", "__Host-", "--cookie-name", "sid", "--data", `{"a":true}`},
			cfg:     session.Config{Secret: "s", CookiePrefix: "__Host-", CookieName: "sid"},
			cookies: 1, data: map[string]any{"a": true}, audience: "default",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mint(t, tt.args...)
			if len(r.SetCookie) != tt.cookies {
				t.Fatalf("new printed %d Set-Cookie lines, want %d: %q", len(r.SetCookie), tt.cookies, r.SetCookie)
			}
			s, _, err := coreOpen(t, tt.cfg, r.Cookie, mintTime+60, tt.props)
			if err != nil {
				t.Fatalf("core does not open the minted cookie: %v", err)
			}
			if !jsonEqual(t, s.Data(), tt.data) || s.Subject() != tt.subject || s.Audience() != tt.audience {
				t.Errorf("core opened data %v subject %q audience %q, want %v %q %q", s.Data(), s.Subject(), s.Audience(), tt.data, tt.subject, tt.audience)
			}
			if s.ID() != r.ID {
				t.Errorf("id %s, new printed %s", s.ID(), r.ID)
			}
			if tt.props != nil { // bound: another client is rejected
				if _, _, err := coreOpen(t, tt.cfg, r.Cookie, mintTime+60, &exchange{remoteAddr: "198.51.100.1", userAgent: tt.props.userAgent}); !errors.Is(err, session.ErrInvalid) {
					t.Errorf("bound cookie from another address: %v, want ErrInvalid", err)
				}
			}
			if tt.cfg.Remember { // the remember cookie alone restores the session
				remember := r.Cookie[strings.Index(r.Cookie, "remember="):]
				s, ex, err := coreOpen(t, tt.cfg, remember, mintTime+3*3600, nil)
				if err != nil || !jsonEqual(t, s.Data(), tt.data) || len(ex.setCookies) != 2 {
					t.Errorf("restore from the remember cookie: %v, data %v, %d cookies", err, s.Data(), len(ex.setCookies))
				}
			}
			// The default idling timeout (15 minutes) holds for core too
			// (with remember on, the remember cookie restores the session).
			if _, _, err := coreOpen(t, tt.cfg, r.Cookie, mintTime+901, tt.props); !tt.cfg.Remember && !errors.Is(err, session.ErrExpired) {
				t.Errorf("open after 901s: %v, want ErrExpired", err)
			}
		})
	}
}

// TestNewOutput checks the plain output (Set-Cookie lines that open reads
// back) and the options that change the cookies.
func TestNewOutput(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "", "new", "--secret", "s", "--data", `{"x":1}`, "--idling-timeout", "60", "--cookie-same-site", "Strict", "--now", "1700000000")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "Set-Cookie: session=") || !strings.HasSuffix(lines[0], "; Path=/; SameSite=Strict; Secure; HttpOnly") {
		t.Fatalf("new printed %q", out)
	}
	// Piped into open, with the same timeout: open at +59s, expired at +61s.
	for _, tt := range []struct {
		at     string
		exists bool
		class  string
	}{{"1700000059", true, ""}, {"1700000061", false, "expired"}} {
		r := openReport(t, out, "--secret", "s", "--idling-timeout", "1m", "--now", tt.at)
		if r.Exists != tt.exists || (r.Error == nil) != (tt.class == "") || r.Error != nil && r.Error.Class != tt.class {
			t.Errorf("open at %s: exists %v error %+v, want %v %q", tt.at, r.Exists, r.Error, tt.exists, tt.class)
		}
		if idling := r.Cookies.Session.Timeouts.Idling; idling == nil || *idling != 1700000060-mustAtoi(t, tt.at) {
			t.Errorf("open at %s: idling left %v", tt.at, idling)
		}
	}
}

func mustAtoi(t testing.TB, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestNewSecure checks the Secure attribute: on by default (unlike the
// reference), off only when cookie_secure is explicitly false.
func TestNewSecure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		secure bool
	}{
		{"default", nil, true},
		{"flag true", []string{"--cookie-secure=true"}, true},
		{"flag false", []string{"--cookie-secure=false"}, false},
		{"file without cookie_secure", []string{"--config", writeJSON(t, map[string]any{"cookie_name": "sid"})}, true},
		{"file with cookie_secure false", []string{"--config", writeJSON(t, map[string]any{"cookie_secure": false})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"new", "--secret", "a long enough secret", "--now", "1700000000"}, tt.args...)
			out := mustRun(t, "", args...)
			if got := strings.Contains(out, "; Secure"); got != tt.secure {
				t.Errorf("new %q printed %q: Secure = %v, want %v", tt.args, out, got, tt.secure)
			}
		})
	}
}
