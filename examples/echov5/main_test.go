package main

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/examples/demo"
)

// TestApp serves the app over plain HTTP on loopback (so newConfig turns
// Secure off) with a Manager on demo's clock, failing backend and log, and
// drives it with browsers (demo.Exercise).
func TestApp(t *testing.T) {
	env, err := demo.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(env.Configure(newConfig(demo.TestSecret, env.Backend, "127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(m))
	defer srv.Close()
	demo.Exercise(t, env, srv.URL)
}

// TestCurrentUser checks the service code on its own: it finds the profile
// in the session of a context, and tells apart no session in the context, a
// session without a profile (ErrNotFound) and one with it.
func TestCurrentUser(t *testing.T) {
	t.Parallel()
	m, err := session.New(session.Config{Secret: demo.TestSecret})
	if err != nil {
		t.Fatal(err)
	}
	newSession := func(p *Profile) *session.Session {
		s, err := m.Open(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Fatal(err)
		}
		if p != nil {
			s.Set("profile", *p)
		}
		return s
	}
	alice := accounts["alice"]
	for _, tt := range []struct {
		name     string
		ctx      context.Context
		want     Profile
		notFound bool // the error matches session.ErrNotFound
		fails    bool
	}{
		{"no middleware", context.Background(), Profile{}, false, true},
		{"nobody signed in", session.NewContext(context.Background(), newSession(nil)), Profile{}, true, true},
		{"alice", session.NewContext(context.Background(), newSession(&alice)), alice, false, false},
	} {
		got, err := currentUser(tt.ctx)
		if (err != nil) != tt.fails || errors.Is(err, session.ErrNotFound) != tt.notFound {
			t.Errorf("%s: error %v", tt.name, err)
		}
		if got.Name != tt.want.Name || got.ID != tt.want.ID || !got.Since.Equal(tt.want.Since) || len(got.Roles) != len(tt.want.Roles) {
			t.Errorf("%s: profile %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
