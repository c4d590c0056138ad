package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	session "github.com/sessiongo/session/core"
)

// recorder is a testing.TB that records what a helper reports.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) {
	r.fatal = true
	r.errors = append(r.errors, fmt.Sprint(args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = true
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestSessionCookie(t *testing.T) {
	tests := []struct {
		name  string
		cfg   session.Config
		data  map[string]any
		names []string
	}{
		{"cookie storage", session.Config{}, map[string]any{"user": "alice"}, []string{"session"}},
		{"store", session.Config{Store: newMemoryStore(t)}, map[string]any{"user": "alice"}, []string{"session"}},
		{"no data", session.Config{}, nil, []string{"session"}},
		{"chunked", session.Config{CompressionThreshold: -1}, map[string]any{"big": incompressible(6000)}, []string{"session", "session2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Secret = adapterSecret
			m, err := session.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			v := SessionCookie(t, m, tt.data)
			var names []string
			for _, p := range cookiePairs(v) {
				name, _, _ := strings.Cut(p, "=")
				names = append(names, name)
			}
			if strings.Join(names, ",") != strings.Join(tt.names, ",") {
				t.Fatalf("Cookie header with the cookies %v, want %v", names, tt.names)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", v)
			s, err := openSession(m, httptest.NewRecorder(), req)
			if err != nil {
				t.Fatalf("opening the cookie: %v; want the saved session", err)
			}
			for k, want := range tt.data {
				if got := s.Get(k); got != want {
					t.Errorf("data %q = %v, want %v", k, got, want)
				}
			}
		})
	}

	t.Run("store down", func(t *testing.T) {
		store := NewFaultyStore(newMemoryStore(t))
		store.FailAll(errDown)
		m, err := session.New(session.Config{Secret: adapterSecret, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		r := &recorder{TB: t}
		SessionCookie(r, m, nil)
		if !r.fatal {
			t.Fatal("SessionCookie with a failing store did not fail the test")
		}
	})
}

var errDown = errors.New("down")

func TestCheckSetCookies(t *testing.T) {
	m, err := session.New(session.Config{Secret: adapterSecret})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s := newSession(m, w, httptest.NewRequest("GET", "/", nil))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	core := w.Header().Get("Set-Cookie")
	tests := []struct {
		name   string
		lines  []string
		errors int
	}{
		{"none", nil, 0},
		{"core's line", []string{core}, 0},
		{"core's line and another cookie", []string{core, "other=1; Path=/foo"}, 0},
		{"two lines for one name", []string{core, core}, 1},
		{"two lines for another cookie", []string{"other=1", "other=2"}, 1},
		{"session cookie formatted by the adapter", []string{"session=abc; path=/"}, 1},
		{"session cookie rewritten by the adapter", []string{core + "; Secure"}, 1},
		{"chunk formatted by the adapter", []string{core, "session2=abc"}, 1},
		{"remember formatted by the adapter", []string{"remember=abc; Path=/"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{Header: http.Header{"Set-Cookie": tt.lines}, Request: httptest.NewRequest("POST", "/x", nil)}
			r := &recorder{TB: t}
			CheckSetCookies(r, resp)
			if len(r.errors) != tt.errors {
				t.Fatalf("%d errors %q, want %d", len(r.errors), r.errors, tt.errors)
			}
			for _, e := range r.errors {
				if !strings.HasPrefix(e, "POST /x: ") {
					t.Errorf("error %q does not name the request", e)
				}
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/next", http.StatusSeeOther)
	})
	mux.HandleFunc("/twice", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "a=2")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := NewClient(t).Get(srv.URL + "/redirect")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a redirect: status %d, want 303 (not followed)", resp.StatusCode)
	}

	r := &recorder{TB: t}
	resp, err = NewClient(r).Get(srv.URL + "/twice")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(r.errors) != 1 || !strings.HasPrefix(r.errors[0], "GET /twice: ") {
		t.Errorf("two Set-Cookie lines for one name: errors %q, want one naming the request", r.errors)
	}
}
